from accounts.policy import can_manage_integrations, can_manage_sprints, team_roles
from sprintplan import probability
from teams.models import Team


def navigation(request):
    """What the top bar offers: boards of the user's own teams, admin pages by role."""
    user = getattr(request, "user", None)
    teams = _own_teams(user)
    return {
        "nav_teams": teams,
        # A callable: only pages that show the top bar pay for it; it reads the same
        # (lazily evaluated, then cached) teams as the menu, so no query of its own.
        "nav_role": lambda: _role_label(user, teams),
        "can_manage_sprints": bool(user) and can_manage_sprints(user),
        "can_manage_integrations": bool(user) and can_manage_integrations(user),
        # Team leads see the integrations feeding their teams (a callable, read when shown).
        "can_see_integrations": lambda: (
            bool(user) and (can_manage_integrations(user) or "lead" in team_roles(user).values())
        ),
        # The one rule for probability words (sprintplan.probability), for any page's legend.
        "probability_rule": probability.RULE,
    }


def _own_teams(user):
    if not getattr(user, "is_authenticated", False):
        return []
    if user.is_scrum_master or user.is_product_owner or user.is_viewer:
        return Team.objects.order_by("name").only("key_prefix", "name")
    return Team.objects.filter(pk__in=team_roles(user)).order_by("name").only("key_prefix", "name")


def _role_label(user, own_teams) -> str:
    """Short enough for the top bar: "Scrum master", or a team user's teams, e.g. "Lead of
    LAB", "Member of RNK, PRS"."""
    if not getattr(user, "is_authenticated", False):
        return ""
    if user.product_role != user.ProductRole.TEAM:
        return user.get_product_role_display().split(" (")[0]
    roles = team_roles(user)
    if not roles:
        return "No team yet"
    prefixes = {team.pk: team.key_prefix for team in own_teams}
    by_role = {"lead": [], "member": []}
    for team_id, role in sorted(roles.items(), key=lambda item: prefixes.get(item[0], "")):
        by_role[role].append(prefixes.get(team_id, "?"))
    parts = [
        f"{label} of {', '.join(keys)}"
        for label, keys in (("Lead", by_role["lead"]), ("Member", by_role["member"]))
        if keys
    ]
    return " · ".join(parts)
