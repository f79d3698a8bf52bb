"""Reads of the program board area: programs, PIs, the board of a PI with its forecast,
and the cheap change token the live board polls. Query counts do not grow with rows."""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Max, Prefetch, Q, Sum

from dependencies.models import DependencyLink, RecomputeState
from sprintplan import derived, probability
from sprints.models import Sprint
from tickets.models import Ticket

from .. import board
from ..models import (
    Feature,
    FeatureTicket,
    Iteration,
    Milestone,
    PlanningInterval,
    Program,
    ProgramForecastRun,
)
from ..pi_forecast_result import FeatureOutlook, PIForecast

# --- programs and PIs --------------------------------------------------------------------------


def program_list():
    """Programs with their teams and PIs (three queries whatever the number of rows)."""
    return Program.objects.annotate(pi_count=Count("intervals", distinct=True)).prefetch_related(
        "teams"
    )


def program_detail(pk: int) -> Program:
    """The program with teams and PIs (each PI with its iterations' sprints)."""
    iterations = Iteration.objects.select_related("sprint").order_by("number")
    intervals = PlanningInterval.objects.prefetch_related(
        Prefetch("iterations", queryset=iterations)
    ).order_by("start_date", "id")
    return Program.objects.prefetch_related("teams", Prefetch("intervals", queryset=intervals)).get(
        pk=pk
    )


def pi_list(program_id: int | None = None):
    iterations = Iteration.objects.select_related("sprint").order_by("number")
    pis = PlanningInterval.objects.select_related("program").prefetch_related(
        Prefetch("iterations", queryset=iterations)
    )
    if program_id is not None:
        pis = pis.filter(program_id=program_id)
    return pis.order_by("program__name", "start_date", "id")


def free_sprints():
    """Sprints in no PI yet (candidates for a new PI), by start date."""
    return Sprint.objects.filter(iteration__isnull=True).order_by("start_date", "id")


def latest_forecast(pi: PlanningInterval) -> ProgramForecastRun | None:
    return ProgramForecastRun.objects.filter(pi=pi).order_by("-id").first()


def forecast_stale(pi: PlanningInterval) -> bool:
    return derived.pending("pi_forecast", pi.pk)


def forecast_pending_since(pi: PlanningInterval) -> datetime | None:
    """When the oldest change still waiting for this PI's forecast was recorded."""
    return derived.pending_since("pi_forecast", pi.pk)


# --- feature dependencies --------------------------------------------------------------------


def feature_dependencies(
    pi: PlanningInterval, iterations: list[board.BoardIteration], ticket_p85: dict[int, date | None]
) -> tuple[list[tuple[int, int]], dict[tuple[int, int], board.ProviderPart]]:
    """(provider feature, consumer feature) pairs: some ticket of the provider blocks some
    ticket of the consumer, both features of this PI, provider != consumer; and per pair the
    provider's blocking tickets as a board.ProviderPart (each expected at the later of its
    sprint's iteration and its forecast P85 iteration). One query."""
    rows = (
        DependencyLink.objects.filter(
            blocker__feature_link__feature__pi=pi, blocked__feature_link__feature__pi=pi
        )
        .values_list(
            "blocker__feature_link__feature_id",
            "blocked__feature_link__feature_id",
            "blocker_id",
            "blocker__key",
            "blocker__status",
            "blocker__sprint_id",
        )
        .distinct()
        .order_by("blocker__feature_link__feature_id", "blocked__feature_link__feature_id")
    )
    index_of = {iteration.sprint_id: index for index, iteration in enumerate(iterations)}
    n = len(iterations)
    blockers: dict[tuple[int, int], dict[str, tuple[str, bool, int | None]]] = {}
    for provider, consumer, ticket_id, key, status, sprint_id in rows:
        if provider == consumer:
            continue
        forecast = None
        if ticket_id in ticket_p85:  # unfinished work the PI forecast placed
            at = ticket_p85[ticket_id]
            forecast = n if at is None else board.iteration_index(at, iterations)
        planned = index_of.get(sprint_id)
        expected = board.ticket_expected_index(planned, forecast)
        blockers.setdefault((provider, consumer), {})[key] = (
            key,
            status == Ticket.Status.DONE,
            expected,
        )
    pairs = list(blockers)
    parts = {pair: board.provider_part(sorted(found.values())) for pair, found in blockers.items()}
    return pairs, parts


# --- the board -------------------------------------------------------------------------------


@dataclass
class FeatureRow:
    id: int
    title: str
    team_id: int
    team_name: str
    team_key: str
    version: int
    rank: int
    planned_sprint_id: int | None
    planned_index: int | None
    planned_label: str
    milestone: Milestone | None
    ticket_keys: list[str]
    ticket_count: int
    done_count: int
    has_forecast: bool = False
    forecast_index: int | None = None
    forecast_label: str = ""
    column_index: int | None = None
    column_label: str = ""
    p50: date | None = None
    p85: date | None = None
    p95: date | None = None
    p85_sprint_id: int | None = None
    p_by_planned: float | None = None
    p_by_milestone: float | None = None
    past_milestone: bool = False
    errors: dict = field(default_factory=dict)  # a refused change of this row, by field

    @property
    def done(self) -> bool:
        return self.ticket_count > 0 and self.done_count == self.ticket_count

    @property
    def ahead(self) -> bool:
        """The forecast finishes it in an earlier iteration than planned: good news."""
        return (
            self.has_forecast
            and not self.done
            and None not in (self.planned_index, self.forecast_index)
            and self.forecast_index < self.planned_index
        )

    @property
    def slipped(self) -> bool:
        """The forecast's iteration is later than the plan (or there is no plan): "planned
        I2 -> forecast I4"."""
        return (
            self.has_forecast
            and not self.done
            and self.forecast_label != self.planned_label
            and not self.ahead
        )

    @property
    def card_note(self) -> str:
        """The short second line of the board card: "plan I2", or "I2 → I4 ⚑ late" when the
        forecast (P85) moved it from its planned I2 and it is past its milestone."""
        if self.done:
            return "✓ done"
        forecast = "after PI" if self.forecast_label == "after the PI" else self.forecast_label
        planned = "none" if self.planned_index is None else self.planned_label
        if self.slipped:
            note = f"{planned} → {forecast}"
        elif self.ahead:
            note = f"plan {planned}, ahead: {forecast}"
        else:
            note = f"plan {planned}"
        return note + (" ⚑ late" if self.past_milestone else "")

    @property
    def percent_by_planned(self) -> int | None:
        return None if self.p_by_planned is None else round(100 * self.p_by_planned)

    @property
    def outlook_by_planned(self) -> str:
        return probability.outlook(self.p_by_planned)

    @property
    def level_by_planned(self) -> str:
        return probability.level(self.p_by_planned)

    @property
    def percent_by_milestone(self) -> int | None:
        return None if self.p_by_milestone is None else round(100 * self.p_by_milestone)


@dataclass
class DependencyRow:
    provider: FeatureRow
    consumer: FeatureRow
    health: str
    reason: str
    mark: str

    @property
    def sentence(self) -> str:
        return (
            f"{self.provider.team_key} feature “{self.provider.title}” → "
            f"{self.consumer.team_key} feature “{self.consumer.title}”: {self.health}, "
            f"{self.reason}"
        )


@dataclass
class MilestoneRow:
    id: int
    name: str
    date: date
    kind: str
    kind_label: str
    hard: bool
    p_met: float | None
    bottleneck_team_id: int | None
    bottleneck_team_name: str | None
    features: list[FeatureRow] = field(default_factory=list)

    @property
    def percent(self) -> int | None:
        return None if self.p_met is None else round(100 * self.p_met)

    @property
    def outlook(self) -> str:
        return probability.outlook(self.p_met)

    @property
    def features_past(self) -> list[FeatureRow]:
        return [f for f in self.features if f.past_milestone]


@dataclass
class PIBoard:
    pi: PlanningInterval
    iterations: list[board.BoardIteration]
    sprint_names: dict[int, str]
    teams: list[tuple[int, str]]
    features: list[FeatureRow]
    dependencies: list[DependencyRow]
    milestones: list[MilestoneRow]
    backload: board.BackLoad
    layout: board.BoardLayout
    run: ProgramForecastRun | None
    stale: bool
    stale_since: datetime | None  # the oldest change the forecast has not taken in yet
    low_confidence_teams: list[str]

    @property
    def cards(self) -> list[tuple[board.Card, FeatureRow]]:
        rows = {f.id: f for f in self.features}
        return [(card, rows[fid]) for fid, card in self.layout.cards.items()]

    @property
    def lines(self) -> list[tuple[board.Line, DependencyRow]]:
        deps = {(d.provider.id, d.consumer.id): d for d in self.dependencies}
        return [(line, deps[(line.provider_id, line.consumer_id)]) for line in self.layout.lines]

    @property
    def red_count(self) -> int:
        return sum(1 for d in self.dependencies if d.health == board.RED)


def pi_board(pi: PlanningInterval) -> PIBoard:
    """Everything the board page and GET /pis/{id}/board/ show, in eight queries."""
    iteration_rows = list(
        Iteration.objects.filter(pi=pi).select_related("sprint").order_by("number")
    )
    iterations = [
        board.BoardIteration(i.sprint_id, i.number, i.sprint.start_date, i.sprint.end_date)
        for i in iteration_rows
    ]
    index_of = {it.sprint_id: index for index, it in enumerate(iterations)}
    n = len(iterations)
    teams = list(pi.program.teams.order_by("name").values_list("id", "name"))
    features = list(
        Feature.objects.filter(pi=pi).select_related("team", "milestone").order_by("rank", "id")
    )
    counts = {
        row["feature_id"]: row
        for row in FeatureTicket.objects.filter(feature__pi=pi)
        .values("feature_id")
        .annotate(n=Count("id"), done=Count("id", filter=Q(ticket__status=Ticket.Status.DONE)))
        .order_by()
    }
    keys: dict[int, list[str]] = {}
    for feature_id, key in (
        FeatureTicket.objects.filter(feature__pi=pi)
        .order_by("ticket__key")
        .values_list("feature_id", "ticket__key")
    ):
        keys.setdefault(feature_id, []).append(key)
    run = latest_forecast(pi)
    forecast = run.forecast if run else PIForecast.empty()
    rows = []
    for f in features:
        planned = index_of.get(f.planned_sprint_id)
        row = FeatureRow(
            id=f.pk,
            title=f.title,
            team_id=f.team_id,
            team_name=f.team.name,
            team_key=f.team.key_prefix,
            version=f.version,
            rank=f.rank,
            planned_sprint_id=f.planned_sprint_id if planned is not None else None,
            planned_index=planned,
            planned_label=board.index_label(planned, iterations),
            milestone=f.milestone,
            ticket_keys=keys.get(f.pk, []),
            ticket_count=counts.get(f.pk, {}).get("n", 0),
            done_count=counts.get(f.pk, {}).get("done", 0),
        )
        _apply_forecast(row, forecast.features.get(f.pk), iterations)
        rows.append(row)
    plain = [
        board.BoardFeature(
            id=r.id,
            team_id=r.team_id,
            title=r.title,
            planned=r.planned_index,
            has_forecast=r.has_forecast,
            forecast=r.forecast_index,
            done=r.done,
            milestone_id=r.milestone.pk if r.milestone else None,
        )
        for r in rows
    ]
    for row, feature in zip(rows, plain, strict=True):
        row.column_index = board.column(feature, n)
        row.column_label = board.index_label(row.column_index, iterations)
    by_id = {r.id: r for r in rows}
    pairs, parts = feature_dependencies(pi, iterations, forecast.tickets or {})
    # Runs stored before per-ticket dates existed: judge by the whole provider feature.
    deps = board.dependencies(
        plain, pairs, iterations, parts if forecast.tickets is not None else None
    )
    dependency_rows = [
        DependencyRow(by_id[d.provider_id], by_id[d.consumer_id], d.health, d.reason, d.mark)
        for d in deps
    ]
    team_names = dict(teams) | {r.team_id: r.team_name for r in rows}
    milestones = _milestones(pi, forecast, rows, team_names)
    layout = board.layout(
        iterations,
        teams,
        plain,
        deps,
        [board.BoardMilestone(m.id, m.name, m.date) for m in milestones],
    )
    pending_since = forecast_pending_since(pi)
    return PIBoard(
        pi=pi,
        iterations=iterations,
        sprint_names={i.sprint_id: i.sprint.name for i in iteration_rows},
        teams=teams,
        features=rows,
        dependencies=dependency_rows,
        milestones=milestones,
        backload=board.back_loading(plain, n),
        layout=layout,
        run=run,
        stale=pending_since is not None,
        stale_since=pending_since,
        low_confidence_teams=[
            team_names.get(team_id, str(team_id)) for team_id in forecast.low_confidence_team_ids
        ],
    )


def _apply_forecast(row: FeatureRow, forecast: FeatureOutlook | None, iterations) -> None:
    if forecast is None:
        return
    row.has_forecast = True
    row.p50, row.p85, row.p95 = forecast.p50, forecast.p85, forecast.p95
    row.forecast_index = board.iteration_index(row.p85, iterations)
    row.forecast_label = board.index_label(
        len(iterations) if row.p85 is None else row.forecast_index, iterations
    )
    row.p85_sprint_id = forecast.p85_sprint_id
    row.p_by_planned = forecast.p_by_planned
    row.p_by_milestone = forecast.p_by_milestone
    if row.milestone is not None and not row.done:
        row.past_milestone = row.p85 is None or row.p85 > row.milestone.date


def _milestones(pi, forecast: PIForecast, rows: list[FeatureRow], team_names) -> list[MilestoneRow]:
    found = []
    for m in Milestone.objects.filter(pi=pi).order_by("date", "id"):
        chance = forecast.milestone(m.pk)
        bottleneck = chance.bottleneck_team_id
        found.append(
            MilestoneRow(
                id=m.pk,
                name=m.name,
                date=m.date,
                kind=m.kind,
                kind_label=m.get_kind_display(),
                hard=m.hard,
                p_met=chance.p_met,
                bottleneck_team_id=bottleneck,
                bottleneck_team_name=team_names.get(bottleneck) if bottleneck else None,
                features=[r for r in rows if r.milestone and r.milestone.pk == m.pk],
            )
        )
    return found


# --- live refresh ----------------------------------------------------------------------------


def pi_change_token(pi: PlanningInterval) -> str:
    """Changes whenever what the board shows may have changed: features (moves bump their
    version), their tickets and those tickets' updates, milestones, the stored forecast and
    whether one is pending, the dependency graph. Six small aggregate queries."""
    features = Feature.objects.filter(pi=pi).aggregate(
        n=Count("id"), versions=Sum("version"), last=Max("id")
    )
    tickets = FeatureTicket.objects.filter(feature__pi=pi).aggregate(
        n=Count("id"), last=Max("id"), updated=Max("ticket__updated_at")
    )
    milestones = hashlib.sha1(
        repr(
            list(Milestone.objects.filter(pi=pi).values_list("id", "name", "date", "kind", "hard"))
        ).encode(),
        usedforsecurity=False,
    ).hexdigest()[:10]
    parts = [
        features["n"],
        features["versions"],
        features["last"],
        tickets["n"],
        tickets["last"],
        tickets["updated"].timestamp() if tickets["updated"] else 0,
        milestones,
        ProgramForecastRun.objects.filter(pi=pi).aggregate(last=Max("id"))["last"],
        int(forecast_stale(pi)),
        RecomputeState.objects.filter(pk=1).values_list("graph_version", flat=True).first(),
    ]
    return ".".join(str(part or 0) for part in parts)
