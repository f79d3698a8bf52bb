"""Writes of the ceremonies app: the two derived kinds that keep history of the insights and
the forecasts (and publish what changed for the notifications), stand-up marks, goal
thresholds and the retrospective's notes and actions."""

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from accounts.policy import ensure_can_manage_goals, ensure_can_take_part_in_ceremonies
from dependencies.models import DependencyLink, TicketInsight
from planning.forecast_result import GoalOutlook
from planning.models import CapacityAdjustment, ForecastRun, SprintGoal
from sprintplan import derived, events
from sprintplan.errors import Conflict, InvalidInput
from sprintplan.models import DerivedChange
from sprints.models import Sprint
from sprints.selectors import next_open_sprint
from teams.models import Team
from tickets.models import Ticket
from tickets.services import ticket_create

from .models import (
    DEFAULT_GOAL_THRESHOLD,
    BlockedSpell,
    ForecastWatch,
    GoalThreshold,
    RetroItem,
    StandupMark,
)
from .timeline import crossed

logger = logging.getLogger(__name__)

BLOCKED_SPELLS = "blocked_spells"
FORECAST_WATCH = "forecast_watch"
# A ticket counts as slipped past the sprint end when its P85 lies beyond it, i.e. it is
# done by the end in fewer than 85 % of the trials.
SLIP_CONFIDENCE = 0.85


# --- insight history (derived kind "blocked_spells") ------------------------------------------


def insights_changed(_ids) -> None:
    derived.mark(BLOCKED_SPELLS, None)


def blocked_spells_run(*, full: bool = False) -> derived.RefreshReport:
    """Open a spell for every ticket that became blocked, close the spell of every ticket
    that no longer is (a new root blocker closes one spell and opens the next), and
    publish "ticket.blocked" / "ticket.unblocked" with `tickets`: (ticket id, root blocker
    ids) pairs. The database compares the blocked insights with the open spells and hands
    back only the tickets where they differ, so a run's Python work follows what changed,
    not what is blocked (thousands of tickets, each with a JSON list, under a big backlog)."""
    now = timezone.now()
    with transaction.atomic():
        derived.lock(BLOCKED_SPELLS)
        markers = list(
            DerivedChange.objects.filter(kind=BLOCKED_SPELLS).values_list("id", flat=True)
        )
        if not markers and not full:
            return derived.RefreshReport(0, 0, 0)
        began, ended, moved = _spells_out_of_step()
        BlockedSpell.objects.filter(pk__in=[pk for pk, _, _ in ended + moved]).update(ended_at=now)
        BlockedSpell.objects.bulk_create(
            BlockedSpell(ticket_id=ticket_id, root_blocker_ids=roots, started_at=now)
            for ticket_id, roots in began + [(t, roots) for _, t, roots in moved]
        )
        # One event per run for all the tickets concerned: a change high in a chain blocks
        # or frees hundreds at once, and listeners read what they need for all of them.
        if began:
            events.publish("ticket.blocked", tickets=began, at=now.isoformat())
        if ended:
            events.publish(
                "ticket.unblocked",
                tickets=[(t, roots) for _, t, roots in ended],
                at=now.isoformat(),
            )
        DerivedChange.objects.filter(pk__in=markers).delete()
    out_of_step = len(began) + len(ended) + len(moved)
    return derived.RefreshReport(len(markers), out_of_step, out_of_step)


def _spells_out_of_step():
    """What the run must write, read in three queries that return only differences:
    began, (ticket id, root blocker ids) of blocked tickets without an open spell; ended,
    (spell id, ticket id, the spell's roots) of open spells whose ticket is no longer
    blocked; moved, (spell id, ticket id, the insight's roots) of open spells whose
    ticket's root blockers are others now. Root blocker ids are stored in ascending order on
    both sides, so the stored lists compare as they are."""
    open_spells = BlockedSpell.objects.filter(ended_at__isnull=True).order_by()
    blocked = TicketInsight.objects.filter(blocked=True).order_by()
    began = blocked.exclude(ticket_id__in=open_spells.values("ticket_id"))
    ended = open_spells.exclude(ticket_id__in=blocked.values("ticket_id"))
    moved = open_spells.filter(ticket__insight__blocked=True).exclude(
        root_blocker_ids=F("ticket__insight__root_blocker_ids")
    )
    return (
        [(t, list(roots)) for t, roots in began.values_list("ticket_id", "root_blocker_ids")],
        [
            (pk, t, list(roots))
            for pk, t, roots in ended.values_list("id", "ticket_id", "root_blocker_ids")
        ],
        [
            (pk, t, list(roots))
            for pk, t, roots in moved.values_list(
                "id", "ticket_id", "ticket__insight__root_blocker_ids"
            )
        ],
    )


# --- forecast history (derived kind "forecast_watch") -----------------------------------------


def forecasts_changed(_ids) -> None:
    derived.mark(FORECAST_WATCH, None)


def forecast_watch_run(*, full: bool = False) -> derived.RefreshReport:
    """Compare each open sprint's newest forecast with the newest one compared before and
    publish what crossed: a goal's chance across its threshold, a blocker's P85 past the
    sprint's end. Runs in between are skipped on purpose: a burst of changes is judged once,
    from where it started to where it ended."""
    with transaction.atomic():
        derived.lock(FORECAST_WATCH)
        markers = list(
            DerivedChange.objects.filter(kind=FORECAST_WATCH).values_list("id", flat=True)
        )
        if not markers and not full:
            return derived.RefreshReport(0, 0, 0)
        sprints = list(Sprint.objects.exclude(state=Sprint.State.CLOSED))
        announced = sum(_watch_sprint(sprint) for sprint in sprints)
        DerivedChange.objects.filter(pk__in=markers).delete()
    return derived.RefreshReport(len(markers), len(sprints), announced)


def _watch_sprint(sprint: Sprint) -> int:
    watch, _ = ForecastWatch.objects.get_or_create(sprint=sprint)
    newest = ForecastRun.objects.filter(sprint=sprint).order_by("-id").first()
    if newest is None or newest.pk <= watch.last_run_id:
        return 0
    previous = (
        ForecastRun.objects.filter(sprint=sprint, pk=watch.last_run_id).first()
        if watch.last_run_id
        else None
    )
    watch.last_run_id = newest.pk
    watch.save(update_fields=["last_run_id"])
    if previous is None:
        return 0  # the first run seen is the baseline
    return _goals_crossed(sprint, previous, newest) + _blockers_slipped(sprint, previous, newest)


def _goals_crossed(sprint: Sprint, previous: ForecastRun, newest: ForecastRun) -> int:
    before = {g.id: g.p_met for g in previous.forecast.goals if g.id}
    thresholds = dict(
        GoalThreshold.objects.filter(goal__sprint=sprint).values_list("goal_id", "threshold")
    )
    count = 0
    for goal in newest.forecast.goals:
        if not goal.id:
            continue
        threshold = float(thresholds.get(goal.id, DEFAULT_GOAL_THRESHOLD))
        direction = crossed(before.get(goal.id), goal.p_met, threshold)
        if direction is None:
            continue
        events.publish(
            "goal.chance_crossed",
            goal_id=goal.id,
            sprint_id=sprint.pk,
            run_id=newest.pk,
            direction=direction,
            threshold=threshold,
            before=before[goal.id],
            after=goal.p_met,
            cause=_cause(sprint, goal, since=previous.computed_at),
        )
        count += 1
    return count


def _cause(sprint: Sprint, goal: GoalOutlook, *, since) -> str:
    """Words for why the chance moved: capacity changes recorded since the previous run,
    then the forecast's bottleneck."""
    parts = [
        f"{adj.team.name} capacity \N{MULTIPLICATION SIGN}{adj.factor.normalize()} from "
        f"{adj.from_date:%a %-d %b}: {adj.reason}"
        for adj in CapacityAdjustment.objects.filter(sprint=sprint, created_at__gte=since)
        .select_related("team")
        .order_by("created_at")
    ]
    if goal.bottleneck_team:
        tickets = ", ".join(goal.bottleneck_tickets)
        parts.append(f"bottleneck: {goal.bottleneck_team}" + (f" ({tickets})" if tickets else ""))
    return "; ".join(parts)


def _blockers_slipped(sprint: Sprint, previous: ForecastRun, newest: ForecastRun) -> int:
    before = previous.forecast.tickets
    slipped = [
        key
        for key, ticket in newest.forecast.tickets.items()
        if ticket.p_done_by_sprint_end < SLIP_CONFIDENCE
        and (key not in before or before[key].p_done_by_sprint_end >= SLIP_CONFIDENCE)
    ]
    if not slipped:
        return 0
    blockers = dict(Ticket.objects.filter(key__in=slipped).values_list("id", "key"))
    waiting = _waiting_on(sprint, set(blockers))
    count = 0
    for blocker_id, key in blockers.items():
        if not waiting.get(blocker_id):
            continue
        events.publish(
            "ticket.blocker_slipped",
            blocker_id=blocker_id,
            blocked_ids=sorted(waiting[blocker_id]),
            sprint_id=sprint.pk,
            run_id=newest.pk,
            p85=_iso(newest.forecast.tickets[key].p85),
            sprint_end=_iso(newest.forecast.sprint_end),
        )
        count += 1
    return count


def _iso(day) -> str | None:
    """Event payloads are JSON (they are stored and sent by the notifications)."""
    return day.isoformat() if day else None


def _waiting_on(sprint: Sprint, blocker_ids: set[int]) -> dict[int, set[int]]:
    """{blocker: unfinished tickets of the sprint waiting on it, directly or through a
    chain (its root blockers)}."""
    waiting: dict[int, set[int]] = {b: set() for b in blocker_ids}
    for blocker_id, blocked_id in (
        DependencyLink.objects.filter(blocker_id__in=blocker_ids)
        .exclude(blocked__status=Ticket.Status.DONE)
        .values_list("blocker_id", "blocked_id")
    ):
        waiting[blocker_id].add(blocked_id)
    for ticket_id, roots in (
        TicketInsight.objects.filter(ticket__sprint=sprint, blocked=True)
        .exclude(ticket__status=Ticket.Status.DONE)
        .values_list("ticket_id", "root_blocker_ids")
    ):
        for root in roots or []:
            if root in waiting:
                waiting[root].add(ticket_id)
    return waiting


# --- stand-up, thresholds ---------------------------------------------------------------------


@transaction.atomic
def standup_hold(*, actor, sprint: Sprint, team: Team | None = None) -> StandupMark:
    """Record that the stand-up was held now: the next one starts from here."""
    ensure_can_take_part_in_ceremonies(actor)
    return StandupMark.objects.create(
        sprint=sprint, team=team, held_at=timezone.now(), held_by=actor
    )


@transaction.atomic
def goal_threshold_set(*, actor, goal: SprintGoal, threshold: Any) -> GoalThreshold:
    """The PO's threshold for a goal, as a share (0.5) or a percentage ("50" or "50 %")."""
    ensure_can_manage_goals(actor)
    value = _share(threshold)
    row, _ = GoalThreshold.objects.update_or_create(
        goal=goal, defaults={"threshold": value, "set_by": actor}
    )
    return row


def _share(value: Any) -> Decimal:
    text = str(value).strip().rstrip("%").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(
            f"Give the threshold as a percentage, e.g. 50, not {value!r}.", field="threshold"
        ) from None
    if number >= 1:
        number = number / 100
    if not Decimal("0") < number < Decimal("1"):
        raise InvalidInput("The threshold lies between 1 % and 99 %.", field="threshold")
    return number.quantize(Decimal("0.01"))


# --- retrospective ----------------------------------------------------------------------------

MAX_NOTE = 300


@transaction.atomic
def retro_item_add(
    *,
    actor,
    sprint: Sprint,
    kind: str,
    text: str,
    team: Team | None = None,
    owner: User | None = None,
) -> RetroItem:
    ensure_can_take_part_in_ceremonies(actor)
    if kind not in RetroItem.Kind.values:
        raise InvalidInput("Choose went well, to improve or action.", field="kind")
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write the note.", field="text")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"Keep the note under {MAX_NOTE} characters.", field="text")
    if kind == RetroItem.Kind.ACTION and owner is None:
        raise InvalidInput("An action needs an owner.", field="owner")
    if kind != RetroItem.Kind.ACTION:
        owner = None
    return RetroItem.objects.create(
        sprint=sprint, team=team, kind=kind, text=text, owner=owner, created_by=actor
    )


@transaction.atomic
def retro_action_set_done(*, actor, item: RetroItem, done: bool) -> RetroItem:
    ensure_can_take_part_in_ceremonies(actor)
    if item.kind != RetroItem.Kind.ACTION:
        raise InvalidInput("Only actions are done or not.", field="done")
    item.done = bool(done)
    item.save(update_fields=["done"])
    return item


@transaction.atomic
def retro_action_to_ticket(*, actor, item: RetroItem, team: Team | None = None) -> Ticket:
    """Turn an action into a ticket of the next sprint, owned by the action's owner, in the
    action's team (or the team given)."""
    if item.kind != RetroItem.Kind.ACTION:
        raise InvalidInput("Only actions become tickets.", field="item")
    if item.ticket_id is not None:
        raise Conflict(f"This action is ticket {item.ticket.key} already.", code="already_ticket")
    team = team or item.team
    if team is None:
        raise InvalidInput("Choose the team whose ticket it becomes.", field="team")
    following = next_open_sprint(item.sprint)
    if following is None:
        raise Conflict(
            "There is no next sprint yet: create it, then turn the action into a ticket.",
            code="no_next_sprint",
        )
    ticket = ticket_create(
        actor=actor,
        team=team,
        title=item.text[:200],
        description=f"Action from the retrospective of {item.sprint.name}.",
        status=Ticket.Status.TODO,
        sprint=following,
        assignee=item.owner,
    )
    item.ticket = ticket
    item.team = team
    item.save(update_fields=["ticket", "team"])
    return ticket
