"""Who may change what — the server-side rules of PRODUCT.md's role table, in one place.

Services call the `ensure_*` functions before writing; pages call the `*_fields` /
`can_*` functions to show only what the user may change. Both use the same rules.
"""

from collections.abc import Iterable

from sprintplan.errors import PermissionDenied

TICKET_FIELDS = frozenset(
    {
        "title",
        "description",
        "type",
        "status",
        "size",
        "progress",
        "sprint",
        "parent",
        "rank",
        "assignee",
    }
)
# A member moves work along; a lead owns the team's tickets; the PO owns priority and scope.
MEMBER_FIELDS = frozenset({"status", "progress", "assignee"})
# An integration (Label Studio, MLflow...) only feeds progress of its own team's tickets.
INTEGRATION_FIELDS = frozenset({"progress"})
PRODUCT_OWNER_FIELDS = frozenset(
    {"title", "description", "type", "size", "sprint", "parent", "rank"}
)

_ROLES_CACHE = "_sprintplan_team_roles"


def team_roles(user) -> dict[int, str]:
    """{team_id: "lead" | "member"} for the user, read once per user object."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, _ROLES_CACHE, None)
    if cached is None:
        cached = dict(user.memberships.values_list("team_id", "role"))
        setattr(user, _ROLES_CACHE, cached)
    return cached


def _is_active_writer(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and not user.is_viewer


def editable_ticket_fields(user, ticket) -> frozenset[str]:
    return editable_fields_in_team(user, ticket.team_id)


def editable_fields_in_team(user, team_id: int) -> frozenset[str]:
    """The ticket fields `user` may change on a ticket of the team: what a ticket's edit
    rights depend on is its team alone."""
    if not _is_active_writer(user):
        return frozenset()
    if user.is_scrum_master:
        return TICKET_FIELDS
    if user.is_integration:
        has_team = team_id in team_roles(user)
        return INTEGRATION_FIELDS if has_team else frozenset()
    allowed: set[str] = set()
    if user.is_product_owner:
        allowed |= PRODUCT_OWNER_FIELDS
    role = team_roles(user).get(team_id)
    if role == "lead":
        allowed |= TICKET_FIELDS
    elif role == "member":
        allowed |= MEMBER_FIELDS
    return frozenset(allowed)


def ensure_can_edit_ticket(user, ticket, fields: Iterable[str]) -> None:
    denied = sorted(set(fields) - editable_ticket_fields(user, ticket))
    if denied:
        raise PermissionDenied(
            f"You may not change {', '.join(denied)} of {ticket.key}.",
            extra={"fields": denied},
        )


def can_override_done_gate(user) -> bool:
    """Scrum master and Product Owner may close a ticket its checks would hold back."""
    return _is_active_writer(user) and (user.is_scrum_master or user.is_product_owner)


def ensure_can_override_done_gate(user) -> None:
    if not can_override_done_gate(user):
        raise PermissionDenied(
            "Only the Scrum master or the Product Owner may override the done gate."
        )


def can_create_ticket(user, team_id: int) -> bool:
    if not _is_active_writer(user):
        return False
    if user.is_scrum_master or user.is_product_owner:
        return True
    return team_roles(user).get(team_id) == "lead"


def ensure_can_create_ticket(user, team) -> None:
    if not can_create_ticket(user, team.id):
        raise PermissionDenied(f"You may not create tickets for team {team.name}.")


def can_change_link(user, blocker, blocked) -> bool:
    """Scrum master: any link. Lead: links touching one of the lead's teams."""
    if not _is_active_writer(user):
        return False
    if user.is_scrum_master:
        return True
    roles = team_roles(user)
    return "lead" in (roles.get(blocker.team_id), roles.get(blocked.team_id))


def ensure_can_change_link(user, blocker, blocked) -> None:
    if not can_change_link(user, blocker, blocked):
        raise PermissionDenied(
            f"You may not change the link {blocker.key} → {blocked.key}: only the Scrum master "
            "or a lead of one of the two teams may."
        )


def can_manage_sprints(user) -> bool:
    return _is_active_writer(user) and user.is_scrum_master


def ensure_can_manage_sprints(user) -> None:
    if not can_manage_sprints(user):
        raise PermissionDenied("Only the Scrum master may create or change sprints.")


def can_manage_teams(user) -> bool:
    return _is_active_writer(user) and user.is_scrum_master


def ensure_can_manage_teams(user) -> None:
    if not can_manage_teams(user):
        raise PermissionDenied("Only the Scrum master may create or change teams.")


def can_change_capacity(user, team_id: int) -> bool:
    """Scrum master: any team. Lead: own team (capacity and capacity adjustments)."""
    if not _is_active_writer(user):
        return False
    if user.is_scrum_master:
        return True
    return team_roles(user).get(team_id) == "lead"


def ensure_can_change_capacity(user, team) -> None:
    if not can_change_capacity(user, team.id):
        raise PermissionDenied(
            f"You may not change the capacity of {team.name}: only the Scrum master or the "
            "team's lead may."
        )


def can_manage_goals(user) -> bool:
    return _is_active_writer(user) and (user.is_scrum_master or user.is_product_owner)


def ensure_can_manage_goals(user) -> None:
    if not can_manage_goals(user):
        raise PermissionDenied("Only the Scrum master or the Product Owner may change goals.")


# --- Definition of Done, evidence, artifacts, integrations (quality / integrations apps) ---


def can_edit_definition_of_done(user) -> bool:
    return _is_active_writer(user) and user.is_scrum_master


def ensure_can_edit_definition_of_done(user) -> None:
    if not can_edit_definition_of_done(user):
        raise PermissionDenied("Only the Scrum master may change the shared Definition of Done.")


def can_accept_definition_of_done(user) -> bool:
    return _is_active_writer(user) and user.is_product_owner


def ensure_can_accept_definition_of_done(user) -> None:
    if not can_accept_definition_of_done(user):
        raise PermissionDenied("Only the Product Owner may accept the Definition of Done.")


def can_record_evidence(user, team_id: int) -> bool:
    """Leads and members record evidence for criteria their team owns (integration service
    users are members of the one team their integration feeds)."""
    return _is_active_writer(user) and team_roles(user).get(team_id) in {"lead", "member"}


def ensure_can_record_evidence(user, criterion) -> None:
    if not can_record_evidence(user, criterion.team_id):
        raise PermissionDenied(
            f"You may not record evidence for “{criterion.text}”: only its owning team may.",
            field="criterion",
        )


def can_manage_acceptance_criteria(user, ticket) -> bool:
    if not _is_active_writer(user):
        return False
    if user.is_scrum_master or user.is_product_owner:
        return True
    return team_roles(user).get(ticket.team_id) == "lead"


def ensure_can_manage_acceptance_criteria(user, ticket) -> None:
    if not can_manage_acceptance_criteria(user, ticket):
        raise PermissionDenied(
            f"You may not change the acceptance criteria of {ticket.key}.", field="ticket"
        )


def can_record_artifact(user, ticket) -> bool:
    if not _is_active_writer(user):
        return False
    return user.is_scrum_master or ticket.team_id in team_roles(user)


def ensure_can_record_artifact(user, ticket) -> None:
    if not can_record_artifact(user, ticket):
        raise PermissionDenied(
            f"You may not record artifacts of {ticket.key}: only its team may.", field="ticket"
        )


def can_manage_integrations(user) -> bool:
    return _is_active_writer(user) and user.is_scrum_master


def ensure_can_manage_integrations(user) -> None:
    if not can_manage_integrations(user):
        raise PermissionDenied("Only the Scrum master may set up integrations.")


def can_view_deliveries(user, team_id: int) -> bool:
    if not _is_active_writer(user):
        return False
    return user.is_scrum_master or team_roles(user).get(team_id) == "lead"


def can_link_external_project(user, ticket) -> bool:
    if not _is_active_writer(user):
        return False
    return user.is_scrum_master or team_roles(user).get(ticket.team_id) == "lead"


def ensure_can_link_external_project(user, ticket) -> None:
    if not can_link_external_project(user, ticket):
        raise PermissionDenied(
            f"You may not link {ticket.key} to an external project: only the Scrum master or "
            "the lead of its team may.",
            field="ticket",
        )


def can_manage_risks(user) -> bool:
    """Pre-mortem risks: the Scrum master, the Product Owner and team leads."""
    if not _is_active_writer(user):
        return False
    if user.is_scrum_master or user.is_product_owner:
        return True
    return "lead" in team_roles(user).values()


def ensure_can_manage_risks(user) -> None:
    if not can_manage_risks(user):
        raise PermissionDenied(
            "Only the Scrum master, the Product Owner or a team lead may raise or ROAM risks."
        )


# --- program level (programs app) ----------------------------------------------------------


def can_plan_program(user) -> bool:
    """PIs, iterations, features and milestones: the Scrum master and the Product Owner."""
    return _is_active_writer(user) and (user.is_scrum_master or user.is_product_owner)


def ensure_can_plan_program(user) -> None:
    if not can_plan_program(user):
        raise PermissionDenied(
            "Only the Scrum master or the Product Owner may plan the program "
            "(planning intervals, features, milestones)."
        )


def can_edit_objectives(user, team_id: int) -> bool:
    """A team's PI objectives: its lead writes them; the Scrum master and PO may too."""
    if not _is_active_writer(user):
        return False
    if user.is_scrum_master or user.is_product_owner:
        return True
    return team_roles(user).get(team_id) == "lead"


def ensure_can_edit_objectives(user, team) -> None:
    if not can_edit_objectives(user, team.id):
        raise PermissionDenied(
            f"You may not change the objectives of {team.name}: only its lead, the Scrum "
            "master or the Product Owner may."
        )


def can_set_business_value(user) -> bool:
    """Planned and actual business value are the business owners' call (the PO), with the
    Scrum master recording them when the PO dictates."""
    return _is_active_writer(user) and (user.is_product_owner or user.is_scrum_master)


def ensure_can_set_business_value(user) -> None:
    if not can_set_business_value(user):
        raise PermissionDenied(
            "Only the Product Owner or the Scrum master may set business value.",
            field="planned_value",
        )


def can_edit_raci(user) -> bool:
    return _is_active_writer(user) and user.is_scrum_master


def ensure_can_edit_raci(user) -> None:
    if not can_edit_raci(user):
        raise PermissionDenied("Only the Scrum master may change the RACI matrix.")


def can_record_decisions(user) -> bool:
    """Decision records: the Scrum master, the Product Owner and team leads."""
    return can_manage_risks(user)


def ensure_can_record_decisions(user) -> None:
    if not can_record_decisions(user):
        raise PermissionDenied(
            "Only the Scrum master, the Product Owner or a team lead may record decisions."
        )


def can_import(user) -> bool:
    """Bringing a backlog in from another tool (or a Sprintplan export) writes tickets of any
    team, sprints and links at once: the Scrum master's job."""
    return _is_active_writer(user) and user.is_scrum_master


def ensure_can_import(user) -> None:
    if not can_import(user):
        raise PermissionDenied("Only the Scrum master may import or export backlogs.")


# --- ceremonies and notifications ------------------------------------------------------------


def can_take_part_in_ceremonies(user) -> bool:
    """Stand-up marks and retrospective notes: every person who works in the sprints (not
    viewers, not integrations' service users)."""
    return _is_active_writer(user) and not user.is_integration


def ensure_can_take_part_in_ceremonies(user) -> None:
    if not can_take_part_in_ceremonies(user):
        raise PermissionDenied("Viewers and integrations cannot add to the team's ceremonies.")


def can_read_delivery_log(user) -> bool:
    """The notification delivery log (with its failures and retries): the Scrum master."""
    return _is_active_writer(user) and user.is_scrum_master


def ensure_can_read_delivery_log(user) -> None:
    if not can_read_delivery_log(user):
        raise PermissionDenied("Only the Scrum master may read and retry notification deliveries.")


def can_manage_chat_webhooks(user) -> bool:
    """Outbound chat webhooks of a team or sprint: the Scrum master or a team lead."""
    return _is_active_writer(user) and (user.is_scrum_master or "lead" in team_roles(user).values())


def ensure_can_manage_chat_webhooks(user) -> None:
    if not can_manage_chat_webhooks(user):
        raise PermissionDenied("Only the Scrum master or a team lead may set up chat webhooks.")


# --- people, archive, comments -------------------------------------------------------------


def can_manage_people(user) -> bool:
    """Accounts, product roles and memberships: the Scrum master."""
    return _is_active_writer(user) and user.is_scrum_master


def ensure_can_manage_people(user) -> None:
    if not can_manage_people(user):
        raise PermissionDenied("Only the Scrum master may add or change people.")


def can_archive_ticket(user, ticket) -> bool:
    """Archive or restore: the Scrum master, the Product Owner and the ticket team's lead."""
    if not _is_active_writer(user):
        return False
    if user.is_scrum_master or user.is_product_owner:
        return True
    return team_roles(user).get(ticket.team_id) == "lead"


def ensure_can_archive_ticket(user, ticket) -> None:
    if not can_archive_ticket(user, ticket):
        raise PermissionDenied(
            f"You may not archive or restore {ticket.key}: only the Scrum master, the Product "
            "Owner or its team's lead may."
        )


def can_comment(user) -> bool:
    """Every person with write rights talks on tickets; viewers read, integrations feed."""
    return _is_active_writer(user) and not user.is_integration


def ensure_can_comment(user) -> None:
    if not can_comment(user):
        raise PermissionDenied("You may not comment: your role is read only.", field="body")


def can_change_comment(user, comment) -> bool:
    return _is_active_writer(user) and comment.author_id == user.pk


def ensure_can_change_comment(user, comment) -> None:
    if not can_change_comment(user, comment):
        raise PermissionDenied("Only its author may edit or delete a comment.", field="body")
