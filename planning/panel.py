"""What the "What should we do?" panel shows beside the forecast, apart from the options:
the causes that are not capacity (a failing Definition of Done criterion, an unplanned
blocker) and the trend of P(goal met) per day with the events that moved it."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q
from django.utils import timezone

from quality import gates
from tickets.models import Ticket, TicketEvent

from .forecast_result import SprintForecast
from .models import CapacityAdjustment, ForecastRun, PlanDecision

TREND_DAYS = 15


@dataclass(frozen=True)
class Cause:
    kind: str  # "dod" | "unplanned" | "capacity"
    text: str


@dataclass
class TrendDay:
    day: date
    p_met: float
    events: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(self.p_met * 100)


def goal_causes(
    forecast: SprintForecast | None, dod_matrix, goal_text: str | None = None
) -> list[Cause]:
    """Why the goal may fail, in words: non-capacity causes first."""
    causes = []
    if dod_matrix is not None:
        for _criterion, cells in dod_matrix.rows():
            for column, cell in zip(dod_matrix.columns, cells, strict=True):
                if cell.verdict is not None and cell.verdict.status == gates.FAILED:
                    where = "the sprint goal" if column == "Sprint goal" else column
                    causes.append(
                        Cause("dod", f"{cell.verdict.sentence} This blocks {where} from done.")
                    )
    for blocker in forecast.unplanned_blockers if forecast else ():
        waiting = ", ".join(blocker.blocks) or "the goal"
        causes.append(
            Cause(
                "unplanned",
                f"{blocker.key} ({blocker.team}) is planned in no sprint, and "
                f"{waiting} wait{'s' if len(blocker.blocks) == 1 else ''} for it: "
                "without it P(goal met) is 0.",
            )
        )
    for goal in forecast.goals if forecast else ():
        if goal_text is not None and goal.text != goal_text:
            continue
        if goal.bottleneck_team and goal.p_met < 1:
            causes.append(
                Cause(
                    "capacity",
                    f"{goal.bottleneck_team} is the longest step of the critical chain in "
                    f"{goal.bottleneck_share:.0%} of the simulated misses.",
                )
            )
    return causes


def forecast_trend(sprint, goal_text: str, days: int = TREND_DAYS) -> list[TrendDay]:
    """P(goal met) of the last stored run of each day, and the events of that day that can
    move it (capacity changes, sizes and scope, decisions). Four queries."""
    runs = (
        ForecastRun.objects.filter(sprint=sprint)
        .order_by("computed_at", "id")
        .values_list("computed_at", "result")
    )
    by_day: dict[date, float] = {}
    for computed_at, result in runs:
        for goal in SprintForecast.from_json(result).goals:
            if goal.text == goal_text:
                by_day[timezone.localdate(computed_at)] = goal.p_met
    trend = [TrendDay(day, p) for day, p in sorted(by_day.items())][-days:]
    if not trend:
        return trend
    first = trend[0].day
    events = _events_since(sprint, first)
    for entry in trend:
        entry.events = events.get(entry.day, [])
    return trend


def _events_since(sprint, first: date) -> dict[date, list[str]]:
    events: dict[date, list[str]] = {}

    def add(when, text: str) -> None:
        events.setdefault(timezone.localdate(when), []).append(text)

    for created_at, team, factor, reason in (
        CapacityAdjustment.objects.filter(
            from_date__lte=sprint.end_date,
            to_date__gte=sprint.start_date,
            created_at__date__gte=first,
        )
        .order_by("created_at")
        .values_list("created_at", "team__key_prefix", "factor", "reason")
    ):
        add(
            created_at,
            f"capacity change recorded: {team} output x {factor.normalize():f} ({reason})",
        )
    for at, key, field_name, old, new in (
        TicketEvent.objects.filter(
            Q(field="size") | Q(field="sprint"),
            ticket__in=Ticket.objects.filter(Q(sprint=sprint) | Q(goals__sprint=sprint)),
            at__date__gte=first,
        )
        .order_by("at")
        .values_list("at", "ticket__key", "field", "old_value", "new_value")
        .distinct()
    ):
        if field_name == "size":
            add(at, f"{key} resized {old} → {new}")
        else:
            add(at, f"{key} moved ({old or 'backlog'} → {new or 'backlog'})")
    for decided_at, summary, who in (
        PlanDecision.objects.filter(sprint=sprint, decided_at__date__gte=first)
        .order_by("decided_at")
        .values_list("decided_at", "summary", "decided_by__username")
    ):
        add(decided_at, f"{summary} (applied by {who})")
    return events
