"""Reads of the three ceremonies after planning: the daily stand-up, the sprint review and
the retrospective. Each joins tickets, history, insights' history, forecasts, capacity and
evidence, so they live on the top floor. Every function reads a fixed number of queries
whatever the sprint's size (tests assert it)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Max, Q
from django.utils import timezone

from ceremonies import timeline
from ceremonies.models import BlockedSpell, RetroItem, StandupMark
from planning.forecast_result import TicketOutlook
from planning.models import CapacityAdjustment, ForecastRun, SprintCommitment
from quality.models import Artifact
from quality.selectors import GOAL_COLUMN, sprint_dod_matrix
from sprints.models import Sprint
from sprints.selectors import next_open_sprint
from teams.models import Team
from tickets.models import Ticket, TicketEvent

STATUS_ORDER = ["in_progress", "in_review", "todo", "backlog", "done"]
WIP_STATUSES = ("in_progress", "in_review")
STATUS_LABELS = dict(Ticket.Status.choices)


def _number(value) -> Decimal:
    try:
        return Decimal(value or 0)
    except ArithmeticError:
        return Decimal(0)


def _sprint_tickets(sprint: Sprint, team: Team | None = None):
    rows = Ticket.objects.filter(sprint=sprint).select_related("team", "assignee")
    return rows.filter(team=team) if team else rows


def _goal_chances(sprint: Sprint, since: datetime | None) -> list[dict]:
    """Each goal's chance from the newest forecast before `since` and the newest now."""
    now_run = ForecastRun.objects.filter(sprint=sprint).order_by("-id").first()
    then_run = (
        ForecastRun.objects.filter(sprint=sprint, computed_at__lte=since).order_by("-id").first()
        if since
        else None
    )
    then = {g.text: g.p_met for g in (then_run.forecast.goals if then_run else ())}
    return [
        {
            "text": goal.text,
            "now": goal.p_met,
            "then": then.get(goal.text),
            "bottleneck": goal.bottleneck_team,
        }
        for goal in (now_run.forecast.goals if now_run else ())
    ]


# --- stand-up ---------------------------------------------------------------------------------


@dataclass
class Standup:
    sprint: Sprint
    team: Team | None
    since: datetime
    last_held: StandupMark | None
    done: list = field(default_factory=list)
    started: list = field(default_factory=list)
    progress: list = field(default_factory=list)  # [{team, unit, amount, tickets}]
    blocked: list = field(default_factory=list)
    unblocked: list = field(default_factory=list)
    goals: list = field(default_factory=list)
    wip: list = field(default_factory=list)  # [{person, tickets}]
    ageing: list = field(default_factory=list)
    people: list = field(default_factory=list)
    walk: dict | None = None


def standup(
    sprint: Sprint,
    *,
    team: Team | None = None,
    now: datetime | None = None,
    ageing_days: int = 2,
    person_id: int | None = None,
) -> Standup:
    now = now or timezone.now()
    last = StandupMark.objects.filter(sprint=sprint, team=team).select_related("held_by").first()
    since = timeline.standup_since(now, last.held_at if last else None)
    tickets = list(
        _sprint_tickets(sprint, team).annotate(last_moved=Max("events__at")).order_by("rank", "id")
    )
    by_id = {t.pk: t for t in tickets}
    result = Standup(sprint, team, since, last)
    _moves(result, by_id, since)
    _blocking(result, by_id, since)
    result.goals = _goal_chances(sprint, since)
    _wip_and_ageing(result, tickets, now, ageing_days)
    _walk(result, tickets, person_id)
    return result


def _moves(result: Standup, by_id: dict[int, Ticket], since: datetime) -> None:
    events = (
        TicketEvent.objects.filter(
            ticket_id__in=by_id, at__gte=since, field__in=["status", "progress"]
        )
        .select_related("actor")
        .order_by("at", "id")
    )
    progress: dict[int, Decimal] = defaultdict(Decimal)
    for event in events:
        ticket = by_id[event.ticket_id]
        who = event.actor.display_name if event.actor else "an integration"
        if event.field == "status" and event.new_value == "done":
            result.done.append({"ticket": ticket, "by": who, "at": event.at})
        elif (
            event.field == "status"
            and event.new_value == "in_progress"
            and event.old_value
            in (
                "todo",
                "backlog",
            )
        ):
            result.started.append({"ticket": ticket, "by": who, "at": event.at})
        elif event.field == "progress":
            progress[ticket.pk] += _number(event.new_value) - _number(event.old_value)
    per_team: dict[int, dict] = {}
    for ticket_id, amount in progress.items():
        ticket = by_id[ticket_id]
        row = per_team.setdefault(
            ticket.team_id,
            {"team": ticket.team, "unit": ticket.team.unit_display, "amount": 0, "tickets": []},
        )
        row["amount"] += amount
        row["tickets"].append({"ticket": ticket, "amount": amount})
    result.progress = sorted(per_team.values(), key=lambda row: row["team"].name)


def _blocking(result: Standup, by_id: dict[int, Ticket], since: datetime) -> None:
    spells = list(
        BlockedSpell.objects.filter(ticket_id__in=by_id)
        .filter(Q(started_at__gte=since) | Q(ended_at__gte=since))
        .order_by("started_at", "id")
    )
    root_ids = {root for spell in spells for root in spell.root_blocker_ids}
    roots = Ticket.objects.in_bulk(root_ids)
    # Who moved a root blocker or the blocked ticket last, up to that moment: "by whom".
    history = list(
        TicketEvent.objects.filter(
            ticket_id__in=root_ids | {s.ticket_id for s in spells},
            at__gte=since - timedelta(days=1),
        )
        .select_related("actor")
        .order_by("at", "id")
    )
    for spell in spells:
        keys = [roots[r].key for r in spell.root_blocker_ids if r in roots]
        involved = set(spell.root_blocker_ids) | {spell.ticket_id}
        if spell.started_at >= since:
            result.blocked.append(
                {
                    "ticket": by_id[spell.ticket_id],
                    "roots": keys,
                    "at": spell.started_at,
                    "by": _last_actor(history, involved, spell.started_at),
                }
            )
        if spell.ended_at and spell.ended_at >= since:
            result.unblocked.append(
                {
                    "ticket": by_id[spell.ticket_id],
                    "roots": keys,
                    "at": spell.ended_at,
                    "by": _last_actor(history, involved, spell.ended_at),
                }
            )


def _last_actor(history: list[TicketEvent], ticket_ids: set[int], until: datetime) -> str:
    who = ""
    for event in history:
        if event.at > until + timedelta(seconds=5):
            break
        if event.ticket_id in ticket_ids and event.actor:
            who = event.actor.display_name
    return who


def _wip_and_ageing(result: Standup, tickets: list[Ticket], now: datetime, days: int) -> None:
    per_person: dict[int | None, dict] = {}
    cutoff = now - timedelta(days=days)
    for ticket in tickets:
        if ticket.status in WIP_STATUSES:
            key = ticket.assignee_id
            row = per_person.setdefault(key, {"person": ticket.assignee, "tickets": []})
            row["tickets"].append(ticket)
        # Ageing is started work that stalled; a to-do ticket waiting its turn is not.
        if ticket.status in WIP_STATUSES and ticket.last_moved and ticket.last_moved < cutoff:
            result.ageing.append(
                {
                    "ticket": ticket,
                    "days": (now - ticket.last_moved).days,
                    "since": ticket.last_moved,
                }
            )
    result.wip = sorted(
        per_person.values(),
        key=lambda row: (
            row["person"] is None,
            row["person"].display_name if row["person"] else "",
        ),
    )
    result.ageing.sort(key=lambda row: -row["days"])


def _walk(result: Standup, tickets: list[Ticket], person_id: int | None) -> None:
    """The board walked person by person, in a fixed order (by name), each person's
    tickets in board order (in progress, in review, to do, ...), one click to the next."""
    people = {t.assignee_id: t.assignee for t in tickets if t.assignee_id}
    ordered = sorted(people.values(), key=lambda person: person.display_name)
    result.people = ordered
    if person_id not in people:
        return
    index = [p.pk for p in ordered].index(person_id)
    mine = sorted(
        (t for t in tickets if t.assignee_id == person_id),
        key=lambda t: (STATUS_ORDER.index(t.status), t.rank),
    )
    result.walk = {
        "person": people[person_id],
        "tickets": mine,
        "next": ordered[index + 1] if index + 1 < len(ordered) else None,
        "previous": ordered[index - 1] if index > 0 else None,
        "position": index + 1,
    }


# --- review -----------------------------------------------------------------------------------


def _done_at(ticket_ids) -> dict[int, datetime]:
    """When each ticket was (last) marked done."""
    done = {}
    for ticket_id, at in (
        TicketEvent.objects.filter(ticket_id__in=ticket_ids, field="status", new_value="done")
        .order_by("at", "id")
        .values_list("ticket_id", "at")
    ):
        done[ticket_id] = at
    return done


def _baseline_run(sprint: Sprint, commitment: SprintCommitment | None) -> ForecastRun | None:
    """The forecast the sprint was judged by: the first after the commitment (or the first)."""
    runs = ForecastRun.objects.filter(sprint=sprint)
    if commitment:
        after = runs.filter(computed_at__gte=commitment.committed_at).order_by("id").first()
        if after:
            return after
    return runs.order_by("id").first()


def _sprint_scope(sprint: Sprint, commitment: SprintCommitment | None) -> dict[str, Ticket]:
    """Every ticket that was part of the sprint: in it now, committed, or carried out of it."""
    keys = {row["key"] for row in (commitment.scope if commitment else [])}
    moved_out = set(
        TicketEvent.objects.filter(field="sprint", old_value=sprint.name).values_list(
            "ticket__key", flat=True
        )
    )
    rows = Ticket.objects.filter(Q(sprint=sprint) | Q(key__in=keys | moved_out)).select_related(
        "team", "sprint", "assignee"
    )
    return {t.key: t for t in rows}


@dataclass
class Review:
    sprint: Sprint
    goals: list
    teams: list
    carry_over: list
    forecast_run: ForecastRun | None
    has_commitment: bool


def review(sprint: Sprint) -> Review:
    commitment = SprintCommitment.objects.filter(sprint=sprint).first()
    scope = _sprint_scope(sprint, commitment)
    by_id = {t.pk: t for t in scope.values()}
    done_at = _done_at(by_id)
    run = _baseline_run(sprint, commitment)
    predicted = run.forecast.tickets if run else {}
    matrix = sprint_dod_matrix(sprint)
    artifacts = defaultdict(list)
    for artifact in Artifact.objects.filter(ticket_id__in=by_id).order_by("recorded_at", "id"):
        artifacts[artifact.ticket_id].append(artifact)
    end = sprint.end_date
    goals = []
    for goal in sprint.goals.prefetch_related("tickets__team").all():
        goal_tickets = sorted(goal.tickets.all(), key=lambda t: t.key)
        rows = [
            _forecast_row(t, predicted.get(t.key), done_at.get(t.pk), end) for t in goal_tickets
        ]
        columns = [t.key for t in goal_tickets if t.key in matrix.columns] + [GOAL_COLUMN]
        dod_rows = [
            (criterion, [matrix.cells[(criterion.key, c)] for c in columns])
            for criterion in matrix.criteria
            if any(matrix.cells[(criterion.key, c)].verdict for c in columns)
        ]
        finished = [r["actual"] for r in rows]
        forecast_p85 = [r["p85"] for r in rows if r["p85"]]
        dod_ok = all(cell.status in ("n/a", "passed") for _, cells in dod_rows for cell in cells)
        goals.append(
            {
                "goal": goal,
                "met": bool(rows) and all(r["done_by_end"] for r in rows) and dod_ok,
                "dod_ok": dod_ok,
                "tickets": rows,
                "dod_columns": columns,
                "dod_rows": dod_rows,
                "artifacts": [(t, artifacts[t.pk]) for t in goal_tickets if artifacts[t.pk]],
                "p85": max(forecast_p85) if forecast_p85 else None,
                "finished": max(finished) if finished and all(finished) else None,
            }
        )
    return Review(
        sprint=sprint,
        goals=goals,
        teams=_delivered(sprint, commitment, scope, done_at),
        carry_over=_carry_over(sprint, scope),
        forecast_run=run,
        has_commitment=commitment is not None,
    )


def _forecast_row(
    ticket: Ticket, predicted: TicketOutlook | None, done: datetime | None, end: date
) -> dict:
    p85 = predicted.p85 if predicted else None
    actual = timezone.localtime(done).date() if done and ticket.status == "done" else None
    return {
        "ticket": ticket,
        "p85": p85,
        "actual": actual,
        "done_by_end": actual is not None and actual <= end,
        "late_days": (actual - p85).days if actual and p85 else None,
        "status": STATUS_LABELS[ticket.status],
    }


def _delivered(sprint, commitment, scope: dict[str, Ticket], done_at) -> list[dict]:
    committed: dict[str, dict] = (commitment.capacity if commitment else {}) or {}
    committed_keys = {row["key"] for row in (commitment.scope if commitment else [])}
    teams: dict[str, dict] = {}
    for ticket in scope.values():
        row = teams.setdefault(
            ticket.team.key_prefix,
            {
                "team": ticket.team,
                "unit": ticket.team.unit_display,
                "committed": Decimal(0),
                "delivered": Decimal(0),
                "added": Decimal(0),
            },
        )
        in_plan = ticket.key in committed_keys if commitment else ticket.sprint_id == sprint.pk
        if in_plan:
            row["committed"] += ticket.size
        elif ticket.sprint_id == sprint.pk:
            row["added"] += ticket.size
        finished = done_at.get(ticket.pk)
        if (
            ticket.status == "done"
            and finished
            and timezone.localtime(finished).date() <= sprint.end_date
        ):
            row["delivered"] += ticket.size
    for key, row in teams.items():
        if key in committed and committed[key].get("committed") is not None:
            row["committed"] = Decimal(str(committed[key]["committed"]))
        row["share"] = (
            round(row["delivered"] * 100 / row["committed"]) if row["committed"] else None
        )
    return sorted(teams.values(), key=lambda row: row["team"].name)


def _carry_over(sprint: Sprint, scope: dict[str, Ticket]) -> list[dict]:
    rows = []
    for ticket in sorted(scope.values(), key=lambda t: t.key):
        if ticket.status == "done" and ticket.sprint_id == sprint.pk:
            continue
        if ticket.sprint_id == sprint.pk and sprint.state != Sprint.State.CLOSED:
            continue  # still in an open sprint: not carried yet
        rows.append(
            {
                "ticket": ticket,
                "to": ticket.sprint.name
                if ticket.sprint_id and ticket.sprint_id != sprint.pk
                else "Backlog",
                "status": STATUS_LABELS[ticket.status],
                "left": ticket.size - ticket.progress,
            }
        )
    return rows


# --- retrospective ----------------------------------------------------------------------------


@dataclass
class Retro:
    sprint: Sprint
    adjustments: list
    blocked: list
    cycle: list
    added: list
    calibration: dict
    notes: dict
    previous_actions: list
    previous_sprint: Sprint | None
    next_sprint: Sprint | None


def retro(sprint: Sprint, *, now: datetime | None = None) -> Retro:
    now = now or timezone.now()
    commitment = SprintCommitment.objects.filter(sprint=sprint).first()
    scope = _sprint_scope(sprint, commitment)
    by_id = {t.pk: t for t in scope.values()}
    window_start = timezone.make_aware(datetime.combine(sprint.start_date, datetime.min.time()))
    window_end = min(
        now,
        timezone.make_aware(
            datetime.combine(sprint.end_date + timedelta(days=1), datetime.min.time())
        ),
    )
    # "Last time": the latest earlier sprint whose retrospective agreed actions (programs
    # hold other teams' sprints in between).
    previous = (
        Sprint.objects.filter(
            start_date__lt=sprint.start_date,
            pk__in=RetroItem.objects.filter(kind=RetroItem.Kind.ACTION).values("sprint_id"),
        )
        .order_by("-start_date", "-id")
        .first()
    )
    return Retro(
        sprint=sprint,
        adjustments=list(
            CapacityAdjustment.objects.filter(sprint=sprint)
            .select_related("team", "created_by")
            .order_by("created_at", "id")
        ),
        blocked=_blocked_time(by_id, window_start, window_end),
        cycle=_cycle_times(by_id),
        added=_added_after_commit(sprint, commitment, scope),
        calibration=_calibration(sprint, commitment, scope),
        notes=_notes(sprint),
        previous_actions=list(
            RetroItem.objects.filter(sprint=previous, kind=RetroItem.Kind.ACTION)
            .select_related("owner", "ticket", "team")
            .order_by("id")
        )
        if previous
        else [],
        previous_sprint=previous,
        next_sprint=next_open_sprint(sprint),
    )


def _blocked_time(by_id, start: datetime, end: datetime) -> list[dict]:
    spells = defaultdict(list)
    roots = defaultdict(set)
    for spell in BlockedSpell.objects.filter(ticket_id__in=by_id).order_by("started_at"):
        spells[spell.ticket_id].append((spell.started_at, spell.ended_at))
        roots[spell.ticket_id].update(spell.root_blocker_ids)
    keys = dict(
        Ticket.objects.filter(pk__in={r for ids in roots.values() for r in ids}).values_list(
            "id", "key"
        )
    )
    rows = []
    for ticket_id, stretches in spells.items():
        seconds = timeline.overlap_seconds(stretches, start, end)
        if seconds <= 0:
            continue
        rows.append(
            {
                "ticket": by_id[ticket_id],
                "days": seconds / 86400,
                "roots": sorted(keys[r] for r in roots[ticket_id] if r in keys),
                "still": any(ended is None for _, ended in stretches),
            }
        )
    return sorted(rows, key=lambda row: -row["days"])


def _cycle_times(by_id) -> list[dict]:
    started, finished = {}, {}
    for ticket_id, value, at in (
        TicketEvent.objects.filter(ticket_id__in=by_id, field="status")
        .order_by("at", "id")
        .values_list("ticket_id", "new_value", "at")
    ):
        if value == "in_progress":
            started.setdefault(ticket_id, at)
        elif value == "done":
            finished[ticket_id] = at
    per_team = defaultdict(list)
    for ticket_id, ticket in by_id.items():
        if ticket.status == "done":
            per_team[ticket.team].append(
                timeline.cycle_days(started.get(ticket_id), finished.get(ticket_id))
            )
    return [
        {
            "team": team,
            "median": timeline.median_or_none(days),
            "count": len([d for d in days if d is not None]),
        }
        for team, days in sorted(per_team.items(), key=lambda item: item[0].name)
    ]


def _added_after_commit(sprint, commitment, scope) -> list[Ticket]:
    if commitment is None:
        return []
    committed = {row["key"] for row in commitment.scope}
    return sorted(
        (t for key, t in scope.items() if key not in committed),
        key=lambda t: t.key,
    )


def _calibration(sprint, commitment, scope) -> dict:
    """How the sprint's forecast fared: each ticket's predicted chance to be done by the end
    against whether it was, as a Brier score (0 perfect, 0.25 a coin), and the goals'."""
    run = _baseline_run(sprint, commitment)
    if run is None:
        return {}
    done_at = _done_at([t.pk for t in scope.values()])
    rows, brier = [], []
    for key, predicted in sorted(run.forecast.tickets.items()):
        ticket = scope.get(key)
        if ticket is None:
            continue
        chance = predicted.p_done_by_sprint_end
        finished = done_at.get(ticket.pk)
        outcome = bool(
            ticket.status == "done"
            and finished
            and timezone.localtime(finished).date() <= sprint.end_date
        )
        brier.append((chance - outcome) ** 2)
        rows.append({"ticket": ticket, "chance": chance, "done": outcome})
    return {
        "run": run,
        "rows": rows,
        "brier": sum(brier) / len(brier) if brier else None,
        "confident": sum(1 for r in rows if r["chance"] >= 0.85),
        "confident_done": sum(1 for r in rows if r["chance"] >= 0.85 and r["done"]),
        "goals": [{"text": g.text, "chance": g.p_met} for g in run.forecast.goals],
    }


def _notes(sprint) -> dict:
    notes = {kind: [] for kind in RetroItem.Kind.values}
    for item in (
        RetroItem.objects.filter(sprint=sprint)
        .select_related("owner", "ticket", "team")
        .order_by("id")
    ):
        notes[item.kind].append(item)
    return notes
