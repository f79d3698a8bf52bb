"""Adapter between the database and the pure forecast engine for a whole PI.

The PI is read as planning.forecast_adapter.SprintData spanning the PI, so the sprint
adapter's helpers do the rest (team history, capacity factors from availability and
adjustments, transitive unfinished blockers, build_input, inputs_version, seed):

- scope: every unfinished ticket of the PI's sprints and of its features, ranked by
  (iteration number, ticket rank) — tickets outside the PI's sprints come after — plus
  their unfinished blockers wherever they are planned;
- days: working days from today (or the PI's start) to the PI's end, and a horizon margin
  after it (at least HORIZON_MARGIN_DAYS, or as long again as the PI's rest);
- teams: history and focus of the iteration running today (else the next one); capacity per
  day from each team's capacity calendar (days off, holidays, capacity changes by date,
  wherever they were raised), times the share of the team's day that belongs to the PI's
  iterations (concurrent sprints take theirs: planning/capacity_calendar.py);
- blockers outside the PI: planned in a later sprint, they wait for its start; planned
  nowhere, they never finish;
- goals, with ForecastInput.goal_deadlines: per feature "done by the end of its planned
  iteration" (the PI's end when it has none) and, with a milestone, "done by the end of
  the milestone's date"; per milestone "all its features' tickets done by the end of its
  date".

pi_forecast() gives the typed result (programs/pi_forecast_result.py): per feature, per
milestone, the low-confidence teams and each unfinished ticket's P85 date; result_json() is
its stored form.
A feature's P50/P85/P95 date is its goal's: per trial the day its last unfinished ticket is
done, then the percentile of those days (not the latest of the tickets' own percentiles,
which is earlier whenever the tickets' spreads are independent). Features with no
unfinished ticket are absent from "features".
"""

from dataclasses import dataclass, replace
from datetime import date

from django.db.models import Q

from planning import capacity, forecast_engine
from planning import forecast_adapter as sprint_adapter
from planning.forecast_adapter import GoalData, SprintData, TeamData, TicketData
from sprints.models import Sprint
from tickets.models import Ticket

from . import board
from .models import Feature, FeatureTicket, Iteration, Milestone, PlanningInterval
from .pi_forecast_result import FeatureOutlook, MilestoneChance, PIForecast

HORIZON_MARGIN_DAYS = 20
_COLUMNS = ("id", "key", "team_id", "size", "progress", "rank", "status", "sprint_id")


@dataclass(frozen=True, slots=True)
class FeatureData:
    id: int
    team_id: int
    planned_sprint_id: int | None
    milestone_id: int | None
    ticket_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PIData:
    pi_id: int
    sprint: SprintData  # the whole PI as one long "sprint"
    iterations: tuple[board.BoardIteration, ...]
    features: tuple[FeatureData, ...]
    milestones: tuple[tuple[int, date], ...]  # (id, date)


# Goal ids encode what they stand for, so the engine's goals map back without a table.
def feature_goal_id(feature_id: int) -> int:
    return 3 * feature_id


def feature_milestone_goal_id(feature_id: int) -> int:
    return 3 * feature_id + 1


def milestone_goal_id(milestone_id: int) -> int:
    return 3 * milestone_id + 2


# --- loading ---------------------------------------------------------------------------------


def load_pi_data(pi: PlanningInterval, today: date) -> PIData | None:
    """The PI as plain data, or None when no working day of it is left."""
    day0 = sprint_adapter.first_forecast_day(pi.start_date, today)
    days = tuple(capacity.working_days(day0, pi.end_date))
    if not days:
        return None
    iterations = tuple(
        board.BoardIteration(sprint_id, number, start, end)
        for sprint_id, number, start, end in Iteration.objects.filter(pi=pi)
        .order_by("number")
        .values_list("sprint_id", "number", "sprint__start_date", "sprint__end_date")
    )
    if not iterations:
        return None
    members: dict[int, list[int]] = {}
    for feature_id, ticket_id in FeatureTicket.objects.filter(feature__pi=pi).values_list(
        "feature_id", "ticket_id"
    ):
        members.setdefault(feature_id, []).append(ticket_id)
    features = tuple(
        FeatureData(fid, team_id, sprint_id, milestone_id, tuple(sorted(members.get(fid, ()))))
        for fid, team_id, sprint_id, milestone_id in Feature.objects.filter(pi=pi)
        .order_by("rank", "id")
        .values_list("id", "team_id", "planned_sprint_id", "milestone_id")
    )
    milestones = tuple(
        Milestone.objects.filter(pi=pi).order_by("date", "id").values_list("id", "date")
    )
    tickets = _tickets(iterations, features)
    in_scope = len(tickets)
    # The sprint adapter's upstream walk; it adds blockers planned outside the PI's scope.
    blockers = sprint_adapter._unfinished_blockers(tickets)
    outside = sorted((t for t in list(tickets.values())[in_scope:]), key=lambda t: (t.rank, t.id))
    for position, ticket in enumerate(outside, start=in_scope):
        tickets[ticket.id] = replace(ticket, rank=position)
    team_ids = {t.team_id for t in tickets.values()}
    goals = _goals(features, milestones)
    return PIData(
        pi_id=pi.pk,
        sprint=SprintData(
            sprint_id=pi.pk,
            end=pi.end_date,
            day0=day0,
            days=days,
            teams=_teams(iterations, team_ids, day0, today),
            tickets=tickets,
            blockers=blockers,
            goals=goals,
            adjustments=(),
            calendar_factors=sprint_adapter.calendar_factors(
                team_ids, day0, pi.end_date, [it.sprint_id for it in iterations]
            ),
            sprint_starts=sprint_adapter.open_sprint_starts(tickets),
            program=True,
        ),
        iterations=iterations,
        features=features,
        milestones=milestones,
    )


def _tickets(iterations, features) -> dict[int, TicketData]:
    """PI sprints' and features' tickets; `rank` becomes the position in (iteration number,
    rank, id) order, tickets outside the PI's sprints last. All are in the PI's scope."""
    number_of = {it.sprint_id: it.number for it in iterations}
    feature_ticket_ids = {t for f in features for t in f.ticket_ids}
    rows = list(
        Ticket.objects.filter(
            Q(sprint_id__in=list(number_of)) | Q(pk__in=feature_ticket_ids)
        ).values_list(*_COLUMNS)
    )
    after = len(iterations) + 1
    rows.sort(key=lambda row: (number_of.get(row[7], after), row[5], row[0]))
    return {
        row[0]: TicketData(
            id=row[0],
            key=row[1],
            team_id=row[2],
            size=float(row[3]),
            progress=float(row[4]),
            rank=position,
            done=row[6] == Ticket.Status.DONE,
            in_sprint=True,
        )
        for position, row in enumerate(rows)
    }


def _teams(iterations, team_ids: set[int], day0: date, today: date) -> dict[int, TeamData]:
    """History and focus of the iteration running at day0 (else the next, else the last);
    every member's days off over all iterations; part-time share of that iteration."""
    if not iterations or not team_ids:
        return {}
    base = next((it for it in iterations if it.end >= day0), iterations[-1])
    sprints = {s.pk: s for s in Sprint.objects.filter(pk__in=[it.sprint_id for it in iterations])}
    teams = sprint_adapter.load_teams(sprints[base.sprint_id], team_ids, today)
    days_off: dict[tuple[int, int], set[date]] = {}
    part_time: dict[tuple[int, int], float] = {}
    for it in iterations:
        if it.end < day0:
            continue
        for team_id, rows in sprint_adapter.team_members(sprints[it.sprint_id], team_ids).items():
            for user_id, availability in rows:
                days_off.setdefault((team_id, user_id), set()).update(availability.days_off)
                if it is base:
                    part_time[(team_id, user_id)] = availability.part_time
    members: dict[int, list[capacity.Availability]] = {}
    for (team_id, user_id), off in sorted(days_off.items()):
        members.setdefault(team_id, []).append(
            capacity.Availability(frozenset(off), part_time.get((team_id, user_id), 1.0))
        )
    return {
        team_id: replace(team, members=tuple(members.get(team_id, team.members)))
        for team_id, team in teams.items()
    }


def _goals(features, milestones) -> tuple[GoalData, ...]:
    goals = []
    milestone_tickets: dict[int, set[int]] = {mid: set() for mid, _ in milestones}
    for feature in features:
        goals.append(
            GoalData(feature_goal_id(feature.id), f"feature {feature.id}", feature.ticket_ids)
        )
        if feature.milestone_id in milestone_tickets:
            goals.append(
                GoalData(
                    feature_milestone_goal_id(feature.id),
                    f"feature {feature.id} by milestone {feature.milestone_id}",
                    feature.ticket_ids,
                )
            )
            milestone_tickets[feature.milestone_id].update(feature.ticket_ids)
    for mid, _ in milestones:
        goals.append(
            GoalData(
                milestone_goal_id(mid), f"milestone {mid}", tuple(sorted(milestone_tickets[mid]))
            )
        )
    return tuple(goals)


# --- ForecastInput ---------------------------------------------------------------------------


def done_by_end_of(day: date, data: PIData) -> int:
    """Goal deadline for "done by the end of `day`": the index of the first working day
    after it (0 when it is already past), at most the horizon."""
    return min(len(capacity.working_days(data.sprint.day0, day)), horizon_days(data))


def horizon_days(data: PIData) -> int:
    days = len(data.sprint.days)
    return min(days + max(days, HORIZON_MARGIN_DAYS), forecast_engine.MAX_HORIZON_DAYS)


def build_input(data: PIData, seed: int = 0) -> forecast_engine.ForecastInput:
    end_of = {it.sprint_id: it.end for it in data.iterations}
    milestone_day = dict(data.milestones)
    deadlines = {}
    for feature in data.features:
        planned_end = end_of.get(feature.planned_sprint_id)
        deadlines[feature_goal_id(feature.id)] = (
            done_by_end_of(planned_end, data) if planned_end else len(data.sprint.days)
        )
        if feature.milestone_id in milestone_day:
            deadlines[feature_milestone_goal_id(feature.id)] = done_by_end_of(
                milestone_day[feature.milestone_id], data
            )
    for mid, day in data.milestones:
        deadlines[milestone_goal_id(mid)] = done_by_end_of(day, data)
    return replace(
        sprint_adapter.build_input(data.sprint, seed),
        goal_deadlines=deadlines,
        horizon_days=horizon_days(data),
    )


def inputs_version(data: PIData, forecast_input: forecast_engine.ForecastInput) -> str:
    return sprint_adapter.inputs_version(data.sprint, forecast_input)


def compute(data: PIData) -> tuple[str, int, int, dict]:
    """(inputs_version, seed, trials, result JSON); the seed comes from the version."""
    unseeded = build_input(data)
    version = inputs_version(data, unseeded)
    seed = sprint_adapter.seed_from_version(version)
    seeded = replace(unseeded, seed=seed)
    result = forecast_engine.run_forecast(seeded)
    return version, seed, seeded.trials, result_json(data, seeded, result)


# --- result ----------------------------------------------------------------------------------


def _rounded(value: float) -> float:
    return round(float(value), 4)


def result_json(
    data: PIData,
    forecast_input: forecast_engine.ForecastInput,
    result: forecast_engine.ForecastResult,
) -> dict:
    """The stored and served form of `pi_forecast` (ids as string keys, ISO dates)."""
    return pi_forecast(data, forecast_input, result).to_json()


def pi_forecast(
    data: PIData,
    forecast_input: forecast_engine.ForecastInput,
    result: forecast_engine.ForecastResult,
) -> PIForecast:
    """Per feature its P50/P85/P95 dates, the iteration of its P85 and its chances by plan
    and by milestone; per milestone P(met) and the bottleneck; per ticket its P85 date."""
    dates = capacity.working_days_from(
        data.sprint.day0, forecast_engine.resolve_horizon(forecast_input)
    )
    met = {
        goal_id: goal.p_met for goal_id, goal in result.goals.items()
    }  # goals whose tickets are all done are missing: met

    def as_date(day: int | None) -> date | None:
        return None if day is None else dates[day]

    features = {}
    for feature in data.features:
        goal = result.goals.get(feature_goal_id(feature.id))
        if goal is None or not any(t in result.tickets for t in feature.ticket_ids):
            continue  # nothing of it left to do
        p85 = as_date(goal.p85)
        index = board.iteration_index(p85, data.iterations) if p85 else None
        features[feature.id] = FeatureOutlook(
            p50=as_date(goal.p50),
            p85=p85,
            p95=as_date(goal.p95),
            p85_sprint_id=(
                data.iterations[index].sprint_id
                if index is not None and index < len(data.iterations)
                else None
            ),
            p_by_planned=_rounded(met.get(feature_goal_id(feature.id), 1.0)),
            p_by_milestone=(
                _rounded(met.get(feature_milestone_goal_id(feature.id), 1.0))
                if feature.milestone_id is not None
                and feature.milestone_id in dict(data.milestones)
                else None
            ),
        )
    milestones = {}
    for mid, _ in data.milestones:
        goal = result.goals.get(milestone_goal_id(mid))
        milestones[mid] = MilestoneChance(
            p_met=_rounded(goal.p_met if goal else 1.0),
            bottleneck_team_id=goal.bottleneck_team_id if goal else None,
        )
    return PIForecast(
        features=features,
        milestones=milestones,
        # Each unfinished ticket's P85 date: the board judges a feature dependency by the
        # provider tickets that actually block the consumer's.
        tickets={t: as_date(found.p85) for t, found in result.tickets.items()},
        low_confidence_team_ids=tuple(
            sorted(team_id for team_id, team in result.teams.items() if team.low_confidence)
        ),
    )
