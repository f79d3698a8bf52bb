"""Reads of the insight area: the Scrum of Scrums view and the leading indicators of a PI.

Each read runs a fixed number of queries whatever the number of tickets, links, evidence
rows or forecast runs (asserted in tests/programs/insight). The arithmetic lives in
programs/indicators.py; link health comes from the dependency engine (graph.link_health),
blocked chains and downstream counts from the stored TicketInsight rows it maintains.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import F, Q
from django.utils import timezone

from dependencies import graph
from dependencies.models import DependencyLink, TicketInsight
from planning.capacity import working_days
from planning.history import progress_step
from quality.models import Evidence
from sprintplan import probability
from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket, TicketEvent

from .. import indicators
from ..models import (
    FeatureTicket,
    Iteration,
    Milestone,
    Objective,
    PlanningInterval,
    ProgramForecastRun,
    ProgramRisk,
)
from ..pi_forecast_result import PIForecast
from .governance import risks_due_for_review

RISK_REVIEW_DAYS = 7  # risks whose follow-up falls within this many days are due
AT_RISK_P_BY_PLANNED = 0.5  # a feature below this P(done by its planned sprint) is at risk
AT_RISK_RULE = (
    "A committed objective is at risk when one of its features has, in the latest PI "
    "forecast, less than a 50% chance of finishing by its planned sprint, or a P85 finish "
    "date after the milestone it must meet."
)
MAX_FORECAST_RUNS = 40  # the P(milestone met) chart shows the latest runs, oldest first

_SYMBOL = {">=": "≥", "<=": "≤"}


# --- shared -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketRef:
    id: int
    key: str
    title: str
    team_name: str
    team_prefix: str
    status: str
    status_label: str
    sprint_name: str | None
    iteration: int | None  # its number in this PI; None outside the PI

    @property
    def where(self) -> str:
        if self.iteration is not None:
            return f"I{self.iteration}"
        return self.sprint_name or "backlog"


_STATUS_LABELS = dict(Ticket.Status.choices)


def _iterations(pi: PlanningInterval) -> list[Iteration]:
    return list(Iteration.objects.filter(pi=pi).select_related("sprint").order_by("number"))


def _ref(ticket: Ticket, iteration_of: dict[int, int]) -> TicketRef:
    sprint = ticket.sprint
    return TicketRef(
        id=ticket.id,
        key=ticket.key,
        title=ticket.title,
        team_name=ticket.team.name,
        team_prefix=ticket.team.key_prefix,
        status=ticket.status,
        status_label=_STATUS_LABELS.get(ticket.status, ticket.status),
        sprint_name=sprint.name if sprint else None,
        iteration=iteration_of.get(ticket.sprint_id) if ticket.sprint_id else None,
    )


def _latest_run(pi: PlanningInterval) -> ProgramForecastRun | None:
    return ProgramForecastRun.objects.filter(pi=pi).order_by("-computed_at", "-id").first()


# --- Scrum of Scrums ------------------------------------------------------------------------


@dataclass(frozen=True)
class CrossTeamBlocker:
    blocker: TicketRef
    blocked: TicketRef
    health: str  # "red" | "orange"
    reason: str


@dataclass(frozen=True)
class RootBlocker:
    ticket: TicketRef
    downstream_count: int  # unfinished tickets (anywhere) that transitively wait on it
    waiting: tuple[str, ...]  # keys of this PI's blocked tickets it is a root of
    waiting_teams: tuple[str, ...]


@dataclass(frozen=True)
class RiskDue:
    risk: ProgramRisk
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def when(self) -> str:
        if self.days_left < 0:
            return f"overdue by {-self.days_left} day{'s' if self.days_left != -1 else ''}"
        if self.days_left == 0:
            return "due today"
        return f"due in {self.days_left} day{'s' if self.days_left != 1 else ''}"


@dataclass(frozen=True)
class ObjectiveAtRisk:
    objective: Objective
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MilestoneOutlook:
    milestone: Milestone
    p_met: float | None
    bottleneck_team: str | None

    @property
    def percent(self) -> int | None:
        return None if self.p_met is None else round(self.p_met * 100)

    @property
    def level(self) -> str:
        """ok / warn / bad (sprintplan.probability); the words below say the same."""
        return probability.level(self.p_met)

    @property
    def words(self) -> str:
        return probability.outlook(self.p_met)


@dataclass
class ScrumOfScrums:
    pi: PlanningInterval
    today: date
    blockers: list[CrossTeamBlocker]
    roots: list[RootBlocker]
    risks_due: list[RiskDue]
    objectives_at_risk: list[ObjectiveAtRisk]
    committed_objectives: int
    milestones: list[MilestoneOutlook]
    forecast_at: datetime | None
    at_risk_rule: str = AT_RISK_RULE
    review_days: int = RISK_REVIEW_DAYS

    @property
    def red_count(self) -> int:
        return sum(1 for blocker in self.blockers if blocker.health == "red")


def scrum_of_scrums(pi: PlanningInterval, today: date | None = None) -> ScrumOfScrums:
    """Everything the bi-weekly team-lead sync walks through, for one PI."""
    today = today or timezone.localdate()
    iterations = _iterations(pi)
    sprint_ids = [iteration.sprint_id for iteration in iterations]
    iteration_of = {iteration.sprint_id: iteration.number for iteration in iterations}
    blockers = _cross_team_blockers(sprint_ids, iteration_of)
    roots = _root_blockers(sprint_ids, iteration_of)
    run = _latest_run(pi)
    forecast = run.forecast if run else PIForecast.empty()
    at_risk, committed = _objectives_at_risk(pi, forecast)
    return ScrumOfScrums(
        pi=pi,
        today=today,
        blockers=blockers,
        roots=roots,
        risks_due=_risks_due(pi, today),
        objectives_at_risk=at_risk,
        committed_objectives=committed,
        milestones=_milestone_outlooks(pi, forecast),
        forecast_at=run.computed_at if run else None,
    )


def _cross_team_blockers(sprint_ids, iteration_of) -> list[CrossTeamBlocker]:
    """Links between tickets of different teams touching the PI's sprints, red or orange by
    the dependency engine's link health. Two queries."""
    rank = {
        sprint_id: position
        for position, sprint_id in enumerate(Sprint.objects.values_list("id", flat=True))
    }
    links = (
        DependencyLink.objects.filter(
            Q(blocker__sprint_id__in=sprint_ids) | Q(blocked__sprint_id__in=sprint_ids)
        )
        .exclude(blocker__team_id=F("blocked__team_id"))
        .select_related("blocker__team", "blocker__sprint", "blocked__team", "blocked__sprint")
        .order_by("id")
    )
    found = []
    for link in links:
        blocker, blocked = link.blocker, link.blocked
        health = graph.link_health(_node(blocker, rank), _node(blocked, rank))
        if health == "green":
            continue
        before, after = _ref(blocker, iteration_of), _ref(blocked, iteration_of)
        found.append(CrossTeamBlocker(before, after, health, _reason(before, after, health)))
    found.sort(key=lambda b: (b.health != "red", b.blocked.iteration or 99, b.blocked.key))
    return found


def _node(ticket: Ticket, rank: dict[int, int]) -> graph.Node:
    done = ticket.status == Ticket.Status.DONE
    return graph.Node(ticket.id, ticket.key, ticket.team_id, done, 0.0, rank.get(ticket.sprint_id))


def _reason(blocker: TicketRef, blocked: TicketRef, health: str) -> str:
    if health == "orange":
        return (
            f"Same sprint ({blocked.where}): {blocked.key} can only start once "
            f"{blocker.key} ({blocker.team_name}) finishes."
        )
    if blocker.sprint_name is None:
        return (
            f"{blocker.key} ({blocker.team_name}) is not planned in any sprint, but "
            f"{blocked.key} needs it in {blocked.where}."
        )
    return (
        f"{blocker.key} ({blocker.team_name}) is planned in {blocker.where}, after "
        f"{blocked.key} in {blocked.where}, which needs it first."
    )


def _root_blockers(sprint_ids, iteration_of) -> list[RootBlocker]:
    """Root blockers of the PI's blocked tickets, ranked by how much waits on them (stored
    downstream_count). Two queries."""
    rows = TicketInsight.objects.filter(ticket__sprint_id__in=sprint_ids, blocked=True).values_list(
        "ticket__key", "ticket__team__name", "root_blocker_ids"
    )
    waiting: dict[int, list[str]] = defaultdict(list)
    teams: dict[int, set[str]] = defaultdict(set)
    for key, team_name, root_ids in rows:
        for root_id in root_ids or []:
            waiting[root_id].append(key)
            teams[root_id].add(team_name)
    if not waiting:
        return []
    roots = Ticket.objects.filter(pk__in=waiting).select_related("team", "sprint", "insight")
    ranked = []
    for ticket in roots:
        insight = getattr(ticket, "insight", None)
        count = insight.downstream_count if insight else len(waiting[ticket.id])
        ranked.append(
            RootBlocker(
                ticket=_ref(ticket, iteration_of),
                downstream_count=count,
                waiting=tuple(sorted(waiting[ticket.id])),
                waiting_teams=tuple(sorted(teams[ticket.id])),
            )
        )
    ranked.sort(key=lambda root: (-root.downstream_count, root.ticket.key))
    return ranked


def _risks_due(pi: PlanningInterval, today: date) -> list[RiskDue]:
    """Unresolved risks whose follow-up falls within RISK_REVIEW_DAYS (overdue ones too),
    read by the governance area's selector. One query."""
    return [
        RiskDue(risk, (risk.follow_up - today).days) for risk in risks_due_for_review(pi, today)
    ]


def _objectives_at_risk(
    pi: PlanningInterval, forecast: PIForecast
) -> tuple[list[ObjectiveAtRisk], int]:
    """Committed objectives flagged by AT_RISK_RULE from the latest forecast. Two queries."""
    objectives = list(
        Objective.objects.filter(pi=pi, committed=True)
        .select_related("team")
        .prefetch_related("features__milestone", "features__planned_sprint")
        .order_by("team__name", "id")
    )
    flagged = []
    for objective in objectives:
        reasons = []
        for feature in objective.features.all():
            entry = forecast.features.get(feature.id)
            if entry is None:
                continue
            p_planned = entry.p_by_planned
            if p_planned is not None and p_planned < AT_RISK_P_BY_PLANNED:
                planned = feature.planned_sprint.name if feature.planned_sprint else "its sprint"
                reasons.append(
                    f"{feature.title}: {p_planned:.0%} chance to finish by {planned} "
                    f"(below {AT_RISK_P_BY_PLANNED:.0%})."
                )
            p85 = entry.p85
            milestone = feature.milestone
            if milestone and p85 and p85 > milestone.date:
                reasons.append(
                    f"{feature.title}: P85 finish {p85:%b %d} is after {milestone.name} "
                    f"({milestone.date:%b %d})."
                )
        if reasons:
            flagged.append(ObjectiveAtRisk(objective, tuple(reasons)))
    return flagged, len(objectives)


def _milestone_outlooks(pi: PlanningInterval, forecast: PIForecast) -> list[MilestoneOutlook]:
    """The PI's milestones with the latest P(met) and bottleneck team. Two queries."""
    milestones = list(Milestone.objects.filter(pi=pi).order_by("date", "id"))
    team_ids = {
        chance.bottleneck_team_id
        for chance in forecast.milestones.values()
        if chance.bottleneck_team_id
    }
    names = dict(Team.objects.filter(pk__in=team_ids).values_list("id", "name")) if team_ids else {}
    outlooks = []
    for milestone in milestones:
        chance = forecast.milestone(milestone.id)
        outlooks.append(
            MilestoneOutlook(
                milestone=milestone,
                p_met=chance.p_met,
                bottleneck_team=names.get(chance.bottleneck_team_id),
            )
        )
    return outlooks


# --- leading indicators -----------------------------------------------------------------------


@dataclass
class ThroughputRow:
    team: Team
    throughput: indicators.Throughput


@dataclass
class ThroughputIndicator:
    days: list[date]
    rows: list[ThroughputRow]
    chart: indicators.TrendChart | None

    @property
    def by_day(self) -> list[tuple[date, list[float]]]:
        """(day, units of each team in `rows` order): the chart's data as a table."""
        return [
            (day, [row.throughput.units[i] for row in self.rows]) for i, day in enumerate(self.days)
        ]


@dataclass
class RunPoint:
    number: int
    label: str  # the MLflow run id (short) or "run n"
    recorded_at: datetime
    value: float


@dataclass
class MetricTrend:
    ticket_key: str
    ticket_title: str
    metric_key: str
    criterion_text: str
    threshold_text: str  # "≥ 0.38", written as the DoD pages write it
    runs: list[RunPoint]
    convergence: indicators.Convergence
    chart: indicators.TrendChart


@dataclass
class EscapedBug:
    key: str
    title: str
    feature: str
    found_at: datetime
    feature_done_at: datetime


@dataclass
class EscapePoint:
    label: str
    at: datetime
    escape: indicators.DefectEscape


@dataclass
class EscapeIndicator:
    overall: indicators.DefectEscape
    points: list[EscapePoint]
    escaped: list[EscapedBug]
    chart: indicators.TrendChart | None


@dataclass
class MilestonePoint:
    computed_at: datetime
    values: list[float | None]  # per milestone, in `milestones` order


@dataclass
class MilestoneIndicator:
    milestones: list[Milestone]
    points: list[MilestonePoint]
    chart: indicators.TrendChart | None


@dataclass
class Indicators:
    pi: PlanningInterval
    today: date
    throughput: ThroughputIndicator
    metrics: list[MetricTrend]
    escape: EscapeIndicator
    milestones: MilestoneIndicator
    convergence_runs: int = indicators.CONVERGENCE_RUNS
    convergence_spread: float = indicators.CONVERGENCE_SPREAD
    notes: list[str] = field(default_factory=list)


def leading_indicators(pi: PlanningInterval, today: date | None = None) -> Indicators:
    """The four leading indicators of a PI, each with its chart and its data. 11 queries."""
    today = today or timezone.localdate()
    iterations = _iterations(pi)
    sprint_ids = [iteration.sprint_id for iteration in iterations]
    return Indicators(
        pi=pi,
        today=today,
        throughput=_throughput(pi, today),
        metrics=_metric_trends(pi, sprint_ids),
        escape=_escape(pi, iterations, today),
        milestones=_milestone_trend(pi),
    )


def _aware(day: date, at: time = time.min) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


def _throughput(pi: PlanningInterval, today: date) -> ThroughputIndicator:
    """Labeling teams of the program: units per working day from the PI's start to yesterday
    (today is not over). Two queries."""
    days = working_days(pi.start_date, min(today - timedelta(days=1), pi.end_date))
    teams = list(pi.program.teams.filter(kind=Team.Kind.LABELING).order_by("name"))
    if not days or not teams:
        return ThroughputIndicator(days, [ThroughputRow(t, _empty(t, days)) for t in teams], None)
    rows = TicketEvent.objects.filter(
        field="progress",
        at__gte=_aware(days[0]),
        at__lt=_aware(days[-1] + timedelta(days=1)),
        ticket__team__in=teams,
    ).values_list("ticket__team_id", "at", "old_value", "new_value")
    steps = (
        (team_id, timezone.localdate(at), progress_step(old, new)) for team_id, at, old, new in rows
    )
    series = indicators.labeling_throughput(steps, [team.id for team in teams], days)
    table = [ThroughputRow(team, series[team.id]) for team in teams]
    chart = indicators.trend_chart(
        [indicators.Series(team.key_prefix, team.name, series[team.id].units) for team in teams],
        [f"{day:%b} {day.day}" for day in days],
        unit=_unit(teams),
    )
    return ThroughputIndicator(days, table, chart)


def _empty(team: Team, days) -> indicators.Throughput:
    return indicators.Throughput(team.id, tuple(days), tuple(0.0 for _ in days))


def _unit(teams: list[Team]) -> str:
    labels = {team.unit_label or team.get_unit_display() for team in teams}
    return f"{labels.pop()} per day" if len(labels) == 1 else "units per day"


def _metric_trends(pi: PlanningInterval, sprint_ids) -> list[MetricTrend]:
    """MLflow evidence of the PI's tickets (in its sprints or its features), one series per
    ticket and criterion code, in run order. One query."""
    rows = (
        Evidence.objects.filter(source=Evidence.Source.MLFLOW, value__isnull=False)
        .filter(Q(ticket__sprint_id__in=sprint_ids) | Q(ticket__feature_link__feature__pi=pi))
        .order_by("recorded_at", "id")
        .values_list(
            "ticket__key",
            "ticket__title",
            "criterion__code",
            "criterion__metric_key",
            "criterion__text",
            "criterion__comparator",
            "criterion__threshold",
            "value",
            "recorded_at",
            "details",
        )
    )
    grouped: dict[tuple[str, str], dict] = {}
    for key, title, code, metric, text, comparator, threshold, value, at, details in rows:
        group = grouped.setdefault(
            (key, code),
            {
                "title": title,
                "metric": metric,
                "text": text,
                "threshold": threshold,
                "comparator": comparator,
                "runs": [],
            },
        )
        runs = group["runs"]
        run_id = str((details or {}).get("run_id") or "")
        label = run_id[:8] if run_id else f"run {len(runs) + 1}"
        runs.append(RunPoint(len(runs) + 1, label, at, float(value)))
    trends = []
    for (key, _code), group in sorted(grouped.items()):
        runs = group["runs"]
        threshold = float(group["threshold"]) if group["threshold"] is not None else None
        convergence = indicators.metric_convergence([run.value for run in runs])
        chart = indicators.trend_chart(
            [indicators.Series(group["metric"], group["metric"], [run.value for run in runs])],
            [f"#{run.number}" for run in runs],
            y_min=None,
            reference=threshold,
            reference_label=f"threshold {group['comparator']} {threshold:g}"
            if threshold is not None
            else "",
            unit=group["metric"],
        )
        trends.append(
            MetricTrend(
                ticket_key=key,
                ticket_title=group["title"],
                metric_key=group["metric"],
                criterion_text=group["text"],
                threshold_text=(
                    f"{_SYMBOL.get(group['comparator'], group['comparator'])} {threshold:g}"
                    if threshold is not None
                    else ""
                ),
                runs=runs,
                convergence=convergence,
                chart=chart,
            )
        )
    return trends


def _escape(pi: PlanningInterval, iterations, today: date) -> EscapeIndicator:
    """Defect escape rate of the PI's features, overall and as of each iteration's end (up
    to now). Two queries."""
    links = list(
        FeatureTicket.objects.filter(feature__pi=pi).values_list(
            "feature_id",
            "feature__title",
            "ticket_id",
            "ticket__key",
            "ticket__title",
            "ticket__type",
            "ticket__status",
            "ticket__created_at",
        )
    )
    done_events: dict[int, datetime] = {}
    for ticket_id, at in (
        TicketEvent.objects.filter(
            ticket__feature_link__feature__pi=pi, field="status", new_value=Ticket.Status.DONE
        )
        .order_by("at", "id")
        .values_list("ticket_id", "at")
    ):
        done_events[ticket_id] = at  # the latest done event wins
    items = []
    facts = {}
    for feature_id, feature_title, ticket_id, key, title, type_, status, created in links:
        done_at = done_events.get(ticket_id) if status == Ticket.Status.DONE else None
        items.append(
            indicators.WorkItem(ticket_id, feature_id, type_ == Ticket.Type.BUG, created, done_at)
        )
        facts[ticket_id] = (key, title, feature_title)
    overall = indicators.defect_escape(items)
    done_at = indicators.feature_done_times(items)
    escaped = [
        EscapedBug(
            key=facts[item.ticket_id][0],
            title=facts[item.ticket_id][1],
            feature=facts[item.ticket_id][2],
            found_at=item.created_at,
            feature_done_at=done_at[item.feature_id],
        )
        for item in items
        if item.ticket_id in overall.escaped_ticket_ids
    ]
    escaped.sort(key=lambda bug: bug.found_at)
    end_of_today = _aware(today, time.max)
    cutoffs = []
    for iteration in iterations:
        if iteration.sprint.start_date > today:
            break
        end = min(_aware(iteration.sprint.end_date, time.max), end_of_today)
        cutoffs.append((f"I{iteration.number}", end))
    points = [
        EscapePoint(label, at, escape)
        for (label, escape), (_, at) in zip(
            indicators.defect_escape_series(items, cutoffs), cutoffs, strict=True
        )
    ]
    chart = None
    if points and overall.total:
        chart = indicators.trend_chart(
            [indicators.Series("escape", "Escape rate", [p.escape.rate for p in points])],
            [p.label for p in points],
            y_max=1.0,
            percent=True,
            unit="bugs escaped",
        )
    return EscapeIndicator(overall, points, escaped, chart)


def _milestone_trend(pi: PlanningInterval) -> MilestoneIndicator:
    """P(met) per milestone across the latest stored PI forecasts. Two queries."""
    milestones = list(Milestone.objects.filter(pi=pi).order_by("date", "id"))
    runs = list(
        ProgramForecastRun.objects.filter(pi=pi)
        .order_by("-computed_at", "-id")
        .values_list("computed_at", "result")[:MAX_FORECAST_RUNS]
    )
    runs = [(at, PIForecast.from_json(result)) for at, result in reversed(runs)]
    series = indicators.milestone_series(runs, [m.id for m in milestones])
    points = []
    for computed_at, forecast in runs:
        values = [forecast.milestone(milestone.id).p_met for milestone in milestones]
        points.append(MilestonePoint(computed_at, values))
    chart = None
    if points and any(series.values()):
        chart = indicators.trend_chart(
            [
                indicators.Series(str(m.id), m.name, [point.values[i] for point in points])
                for i, m in enumerate(milestones)
            ],
            [
                f"{timezone.localtime(p.computed_at):%b} {timezone.localtime(p.computed_at).day}"
                for p in points
            ],
            y_max=1.0,
            percent=True,
            reference=0.85,
            reference_label="85%",
            unit="P(milestone met)",
        )
    return MilestoneIndicator(milestones, points, chart)
