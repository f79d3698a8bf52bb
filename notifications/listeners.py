"""Domain events in, messages out: each handler names who hears about the event and in
which words, then `services.notify` does the rest. Subscribed in NotificationsConfig.ready;
called after the change committed (sprintplan.events), never from page code."""

from decimal import Decimal

from django.db.models import Q
from django.urls import reverse

from accounts.models import User
from planning.models import CapacityAdjustment, SprintGoal
from quality.models import Evidence
from sprintplan import events
from sprints.models import Sprint
from teams.models import Membership
from tickets.models import Ticket

from .models import Event, TicketWatch
from .services import Message, active_webhooks, notify, webhook_hears


def subscribe_all() -> None:
    events.subscribe("ticket.mentioned", on_mentioned)
    events.subscribe("ticket.blocked", on_blocked)
    events.subscribe("ticket.unblocked", on_unblocked)
    events.subscribe("ticket.blocker_slipped", on_blocker_slipped)
    events.subscribe("goal.chance_crossed", on_goal_chance_crossed)
    events.subscribe("dod.criterion_failed", on_dod_failed)
    events.subscribe("sprint.started", on_sprint_started)
    events.subscribe("sprint.closed", on_sprint_closed)
    events.subscribe("capacity.changed", on_capacity_changed)


# --- who -----------------------------------------------------------------------------------


def _owners_and_watchers(ticket_ids) -> dict[int, set[int]]:
    """{person: the tickets among ticket_ids they own or watch}."""
    people: dict[int, set[int]] = {}
    for ticket_id, assignee_id in Ticket.objects.filter(pk__in=ticket_ids).values_list(
        "id", "assignee_id"
    ):
        if assignee_id:
            people.setdefault(assignee_id, set()).add(ticket_id)
    for user_id, ticket_id in TicketWatch.objects.filter(ticket_id__in=ticket_ids).values_list(
        "user_id", "ticket_id"
    ):
        people.setdefault(user_id, set()).add(ticket_id)
    return people


def _role_ids(*roles) -> set[int]:
    return set(User.objects.filter(product_role__in=roles).values_list("id", flat=True))


def _team_people(team_ids) -> set[int]:
    return set(
        Membership.objects.people().filter(team_id__in=team_ids).values_list("user_id", flat=True)
    )


def _percent(share: float) -> str:
    return f"{round(float(share) * 100)} %"


def _keys(ids) -> str:
    keys = sorted(Ticket.objects.filter(pk__in=ids).values_list("key", flat=True))
    return ", ".join(keys) or "a ticket no longer there"


def _ticket_url(key: str) -> str:
    return reverse("ticket-detail", args=[key])


def _sprint_url(sprint_id) -> str:
    return reverse("sprint-detail", args=[sprint_id]) if sprint_id else ""


# --- handlers ------------------------------------------------------------------------------


def on_mentioned(*, ticket_id, comment_id, actor_id, user_ids, **_) -> None:
    ticket = Ticket.objects.select_related("team").filter(pk=ticket_id).first()
    if ticket is None:
        return
    actor = User.objects.filter(pk=actor_id).first()
    who = actor.display_name if actor else "Someone"
    notify(
        message=Message(
            event_type=Event.MENTIONED,
            event_key=f"mention:{comment_id}",
            title=f"{who} mentioned you on {ticket.key}",
            body=ticket.title,
            url=_ticket_url(ticket.key) + f"#comment-{comment_id}",
            facts={"ticket": ticket.key, "comment_id": comment_id, "by": who},
            sprint_id=ticket.sprint_id,
            team_ids=(ticket.team_id,),
        ),
        recipient_ids=set(user_ids) - {actor_id},
    )


def _blocked_changes(event_type, verb, *, tickets, at) -> None:
    """Tell the owners and watchers of each ticket, and the webhooks that hear it. One run
    can block or free hundreds of tickets: they are read together, and a ticket nobody
    hears about costs no further query."""
    ids = [ticket_id for ticket_id, _ in tickets]
    found = {t.pk: t for t in Ticket.objects.filter(pk__in=ids).only(*_BLOCKED_FIELDS)}
    listeners: dict[int, set[int]] = {}
    for person, their_tickets in _owners_and_watchers(ids).items():
        for ticket_id in their_tickets:
            listeners.setdefault(ticket_id, set()).add(person)
    hooks = active_webhooks()
    for ticket_id, root_blocker_ids in tickets:
        ticket = found.get(ticket_id)
        if ticket is None:
            continue
        recipients = listeners.get(ticket_id, set())
        heard = any(
            webhook_hears(hook, event_type, team_ids=(ticket.team_id,), sprint_id=ticket.sprint_id)
            for hook in hooks
        )
        if recipients or heard:
            _tell_blocked_change(event_type, verb, ticket, root_blocker_ids, at, recipients)


_BLOCKED_FIELDS = ("id", "key", "title", "sprint_id", "team_id")


def _tell_blocked_change(event_type, verb, ticket, root_blocker_ids, at, recipients) -> None:
    roots = _keys(root_blocker_ids)
    if event_type == Event.BLOCKED:
        body = f"{ticket.title} — waits on {roots} (root blocker{'s' if ',' in roots else ''})."
    else:
        body = f"{ticket.title} — {roots} no longer hold{'' if ',' in roots else 's'} it up."
    notify(
        message=Message(
            event_type=event_type,
            event_key=f"{event_type}:{ticket.pk}:{at}",
            title=f"{ticket.key} {verb}",
            body=body,
            url=_ticket_url(ticket.key),
            facts={"ticket": ticket.key, "root_blockers": roots.split(", ")},
            sprint_id=ticket.sprint_id,
            team_ids=(ticket.team_id,),
        ),
        recipient_ids=recipients,
    )


def on_blocked(*, tickets, at, **_) -> None:
    _blocked_changes(Event.BLOCKED, "became blocked", tickets=tickets, at=at)


def on_unblocked(*, tickets, at, **_) -> None:
    _blocked_changes(Event.UNBLOCKED, "is unblocked", tickets=tickets, at=at)


def on_blocker_slipped(*, blocker_id, blocked_ids, sprint_id, run_id, p85, sprint_end, **_) -> None:
    blocker = Ticket.objects.filter(pk=blocker_id).first()
    if blocker is None:
        return
    when = f"its P85 is {p85}" if p85 else "it is not forecast to finish"
    teams = set(Ticket.objects.filter(pk__in=blocked_ids).values_list("team_id", flat=True))
    for person, tickets in _owners_and_watchers(blocked_ids).items():
        waiting = _keys(tickets)
        notify(
            message=Message(
                event_type=Event.BLOCKER_SLIPPED,
                event_key=f"slip:{blocker_id}:{run_id}",
                title=f"Your blocker {blocker.key} slipped past the sprint end",
                body=(
                    f"{blocker.key} {blocker.title}: {when}, after the sprint ends on "
                    f"{sprint_end}. {waiting} wait{'s' if ',' not in waiting else ''} on it."
                ),
                url=_ticket_url(blocker.key),
                facts={
                    "blocker": blocker.key,
                    "p85": p85,
                    "sprint_end": sprint_end,
                    "waiting": waiting.split(", "),
                },
                sprint_id=sprint_id,
                team_ids=tuple(teams | {blocker.team_id}),
            ),
            recipient_ids={person},
        )


def on_goal_chance_crossed(
    *, goal_id, sprint_id, run_id, direction, threshold, before, after, cause, **_
) -> None:
    goal = SprintGoal.objects.filter(pk=goal_id).first()
    if goal is None:
        return
    moved = "fell below" if direction == "below" else "rose above"
    body = f"{goal.text}\nChance now {_percent(after)} (was {_percent(before)})."
    if cause:
        body += f"\nCause: {cause}."
    teams = set(goal.tickets.values_list("team_id", flat=True))
    notify(
        message=Message(
            event_type=Event.GOAL_CHANCE,
            event_key=f"goal:{goal_id}:{run_id}",
            title=f"Goal chance {moved} {_percent(threshold)}: now {_percent(after)}",
            body=body,
            url=_sprint_url(sprint_id),
            facts={
                "goal": goal.text,
                "threshold": threshold,
                "before": before,
                "after": after,
                "cause": cause,
            },
            sprint_id=sprint_id,
            team_ids=tuple(teams),
        ),
        recipient_ids=_role_ids(User.ProductRole.PRODUCT_OWNER, User.ProductRole.SCRUM_MASTER),
    )


def on_dod_failed(*, evidence_id, criterion_id, team_id, ticket_id=None, sprint_id=None, **_):
    evidence = (
        Evidence.objects.select_related("criterion", "ticket", "criterion__team")
        .filter(pk=evidence_id)
        .first()
    )
    if evidence is None:
        return
    criterion = evidence.criterion
    where = evidence.ticket.key if evidence.ticket else "the sprint goal"
    value = ""
    if evidence.value is not None:
        value = f": {Decimal(evidence.value).normalize()}"
        if criterion.threshold is not None:
            value += (
                f" (needs {criterion.get_comparator_display()} "
                f"{Decimal(criterion.threshold).normalize()})"
            )
    notify(
        message=Message(
            event_type=Event.DOD_FAILED,
            event_key=f"dod:{evidence_id}",
            title=f"Definition of Done failed on {where}: {criterion.text}",
            body=f"{criterion.text}{value}. Recorded by {evidence.recorded_by_name}.",
            url=_ticket_url(evidence.ticket.key) if evidence.ticket else _sprint_url(sprint_id),
            facts={"criterion": criterion.text, "where": where, "value": value.lstrip(": ")},
            sprint_id=sprint_id or (evidence.ticket.sprint_id if evidence.ticket else None),
            team_ids=(team_id,),
        ),
        recipient_ids=_team_people([team_id]),
    )


def _sprint_event(event_type, verb, *, sprint_id, extra="", moved_keys=()) -> None:
    sprint = Sprint.objects.filter(pk=sprint_id).first()
    if sprint is None:
        return
    # A closed sprint's unfinished tickets have moved on already: their teams count too.
    teams = set(
        Ticket.objects.filter(Q(sprint=sprint) | Q(key__in=list(moved_keys))).values_list(
            "team_id", flat=True
        )
    )
    notify(
        message=Message(
            event_type=event_type,
            event_key=f"{event_type}:{sprint_id}",
            title=f"{sprint.name} {verb}",
            body=(sprint.goal or "") + extra,
            url=_sprint_url(sprint_id),
            facts={"sprint": sprint.name},
            sprint_id=sprint_id,
            team_ids=tuple(teams),
        ),
        recipient_ids=_team_people(teams)
        | _role_ids(User.ProductRole.PRODUCT_OWNER, User.ProductRole.SCRUM_MASTER),
    )


def on_sprint_started(*, sprint_id, **_) -> None:
    _sprint_event(Event.SPRINT_STARTED, "started", sprint_id=sprint_id)


def on_sprint_closed(*, sprint_id, carried_over=(), **_) -> None:
    extra = f"\nCarried over: {', '.join(carried_over)}." if carried_over else ""
    _sprint_event(
        Event.SPRINT_CLOSED, "closed", sprint_id=sprint_id, extra=extra, moved_keys=carried_over
    )


def on_capacity_changed(*, sprint_id, team_id, adjustment_id, actor_id, **_) -> None:
    adjustment = (
        CapacityAdjustment.objects.select_related("team", "created_by", "sprint")
        .filter(pk=adjustment_id)
        .first()
    )
    if adjustment is None:
        return
    factor = adjustment.factor.normalize()
    by = adjustment.created_by.display_name if adjustment.created_by else "someone"
    notify(
        message=Message(
            event_type=Event.CAPACITY_CHANGED,
            event_key=f"capacity:{adjustment_id}",
            title=(
                f"{adjustment.team.name} capacity \N{MULTIPLICATION SIGN}{factor} "
                f"from {adjustment.from_date:%a %-d %b}"
            ),
            body=f"{adjustment.reason} (recorded by {by}, until {adjustment.to_date:%a %-d %b}).",
            url=_sprint_url(sprint_id),
            facts={
                "team": adjustment.team.key_prefix,
                "factor": str(factor),
                "from": adjustment.from_date.isoformat(),
                "to": adjustment.to_date.isoformat(),
                "reason": adjustment.reason,
            },
            sprint_id=sprint_id,
            team_ids=(team_id,),
        ),
        recipient_ids=(_team_people([team_id]) | _role_ids(User.ProductRole.SCRUM_MASTER))
        - {actor_id},
    )
