"""Dependency-aware Monte Carlo sprint forecast (pure numpy, no Django).

Method (ActionableAgile / Focused Objective): each trial replays the future one working day at a
time. A team's output on day t is a day drawn at random from its own throughput history (zero
days included, so idle days keep their weight), scaled by that team's capacity factor for the
day. Inside a trial each team spends the day's output on its own unfinished tickets in rank order;
a ticket may only progress once every blocker finished on an earlier day (finish-to-start). Output
a blocked ticket cannot use flows on to the next eligible ticket of the same team; whatever is
left at the end of the day is lost.

Rules where the method leaves room:
- Fewer than MIN_HISTORY_DAYS history days: the team's daily output is drawn from
  PERT(0.5, 1.0, 1.3) x planned_daily_rate instead, and the team is flagged low-confidence.
- A ticket's size may be an Estimate, drawn per trial with PERT (Beta, lambda 4).
- Ties in rank are broken by ticket id. Blockers and goal tickets that are not in the input count
  as done. A ticket with nothing left finishes on its first eligible day (so its dependents start
  the day after).
- Day numbers are working-day indices, 0 = today; a ticket not finished within the horizon gets
  no percentile day (None) and counts as late.
- Goal bottleneck (critical-chain attribution): in a trial that misses the goal, start at the
  goal ticket that finished last and walk upstream, each step to the blocker that finished last
  (the one that released the ticket). Each ticket on that chain spent `finish - release + 1`
  days, release being the day after its last blocker finished (day 0 without blockers): queue
  time behind its own team's higher-ranked work included. The ticket that spent the most days
  takes the blame for the trial (ties: the one nearer the goal). A share is the fraction of
  failed trials blamed on that ticket (team); the bottleneck is the team with the largest share
  (ties: lowest id). So a slow upstream step (labeling at half speed) is named even when it
  finishes inside the sprint and only the tickets after it come in late.

Every trial is a column of numpy arrays of shape (trials,): the loops run over days and tickets,
never over trials.

Random streams are keyed by (seed, kind, entity id) instead of one stream for everything, so a
team's draws do not depend on which other teams or tickets are in the input, and throughput is
drawn before capacity factors scale it. Runs that differ in one detail (more capacity, one ticket
fewer) therefore use common random numbers: the difference between their results is the effect
of the change, not sampling noise.

Caveat (inherent to rank-order scheduling, not to the sampling): more capacity upstream can make
a goal *later* when it unblocks a higher-ranked ticket that then takes capacity away from a lower-
ranked one that was being worked on meanwhile. If, within each team, tickets become workable in
rank order (e.g. pipelines ranked in the same order in every team), every finish day is monotone:
more capacity or fewer tickets never delays anything.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from math import isfinite

import numpy as np

DEFAULT_TRIALS = 10_000
PERCENTILES = (50, 85, 95)
# Below this many history days the history is too thin to bootstrap from.
MIN_HISTORY_DAYS = 10
# Fallback spread around the planned daily rate: PERT(0.5x, 1x, 1.3x). Skewed low on purpose:
# plans tend to be optimistic, and the mean (0.97x) stays close to the plan.
FALLBACK_RATE_SPREAD = (0.5, 1.0, 1.3)
PERT_LAMBDA = 4.0
HORIZON_SPRINT_MULTIPLE = 3
MIN_HORIZON_DAYS = 30
# The simulation state is float32: it halves the memory traffic of the hot loop over
# (tickets x trials) arrays, and ~7 significant digits are plenty for work units. To absorb the
# rounding of repeated subtraction a ticket counts as done once no more than this share of its
# size (or of one unit, whichever is larger) is left.
WORK_DTYPE = np.float32
RELATIVE_DONE_TOLERANCE = 1e-5
# Finish days are stored as int16 (half the memory traffic of int32), hence the horizon cap.
FINISH_DAY_DTYPE = np.int16
MAX_HORIZON_DAYS = 10_000

_THROUGHPUT_STREAM = 1
_SIZE_STREAM = 2
_UINT64 = 2**64


# --- public data types ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Estimate:
    """A size range in the team's unit; sampled per trial with PERT (Beta, lambda 4)."""

    optimistic: float
    likely: float
    pessimistic: float


@dataclass(frozen=True, slots=True)
class TeamInput:
    id: int
    history: tuple[float, ...]  # units done per past working day, zero days included
    planned_daily_rate: float  # units per working day at full capacity (used if history short)
    capacity_factors: tuple[float, ...] = ()  # per future working day 0..; missing -> 1.0


@dataclass(frozen=True, slots=True)
class TicketInput:
    id: int
    team_id: int
    remaining: float | Estimate
    rank: int  # lower rank is worked on first; ties broken by id
    blockers: tuple[int, ...] = ()  # unfinished blockers; ids not in the input count as done
    # First working day the ticket may progress (its sprint starts later). At or beyond the
    # horizon: never (planned nowhere, so nobody will do it).
    not_before: int = 0


@dataclass(frozen=True, slots=True)
class ForecastInput:
    teams: tuple[TeamInput, ...]
    tickets: tuple[TicketInput, ...]
    sprint_days: int  # working days left including today (day 0 .. sprint_days - 1)
    goals: dict[int, tuple[int, ...]] = field(default_factory=dict)  # goal id -> ticket ids
    # goal id -> working day by whose start the goal's tickets must be done (a milestone
    # date); goals not listed are due at the sprint's end (`sprint_days`).
    goal_deadlines: dict[int, int] = field(default_factory=dict)
    trials: int = DEFAULT_TRIALS
    seed: int = 0
    horizon_days: int | None = None  # default: max(3 x sprint_days, 30)


@dataclass(frozen=True, slots=True)
class TicketForecast:
    p50: int | None  # working-day index; None = not finished within the horizon
    p85: int | None
    p95: int | None
    p_done_by_sprint_end: float


@dataclass(frozen=True, slots=True)
class TeamForecast:
    p_all_done: float
    history_days: int
    coverage: float  # (n - 1) / (n + 1): chance the next day falls inside the history's range
    low_confidence: bool  # history too short: sampled from the planned rate instead


@dataclass(frozen=True, slots=True)
class GoalForecast:
    p_met: float
    bottleneck_team_id: int | None
    # Share of failed trials blamed on the team / ticket (one ticket per failed trial, so the
    # shares add up to 1). Only non-zero shares, largest first.
    failure_share_by_team: dict[int, float]
    failure_share_by_ticket: dict[int, float]
    # Day by which all the goal's tickets are done (P50 nearest to even odds, P85/P95 at
    # least), per trial the latest of its tickets; None: beyond the horizon, or no ticket
    # of the goal left in the forecast.
    p50: int | None = None
    p85: int | None = None
    p95: int | None = None


@dataclass(frozen=True, slots=True)
class ForecastResult:
    tickets: dict[int, TicketForecast]
    teams: dict[int, TeamForecast]
    goals: dict[int, GoalForecast]
    trials: int
    seed: int


# --- validation ----------------------------------------------------------------------------


def validate_input(data: ForecastInput) -> list[str]:
    """Return human-readable problems with the input; an empty list means it can be run."""
    return [
        *_settings_problems(data),
        *_team_problems(data.teams),
        *_ticket_problems(data),
        *_blocker_cycle_problems(data.tickets),
    ]


def _settings_problems(data: ForecastInput) -> Iterable[str]:
    if data.trials < 1:
        yield f"trials must be at least 1 (got {data.trials})"
    if data.sprint_days < 1:
        yield f"sprint_days must be at least 1 (got {data.sprint_days})"
    if data.horizon_days is not None and data.horizon_days < max(data.sprint_days, 1):
        yield (
            f"horizon_days must be at least sprint_days ({data.sprint_days}) "
            f"(got {data.horizon_days})"
        )
    horizon = resolve_horizon(data)
    if horizon > MAX_HORIZON_DAYS:
        yield f"horizon must not exceed {MAX_HORIZON_DAYS} working days (got {horizon})"
    if data.seed < 0:
        yield f"seed must be non-negative (got {data.seed})"
    for goal_id, deadline in sorted(data.goal_deadlines.items()):
        if goal_id not in data.goals:
            yield f"deadline given for unknown goal {goal_id}"
        elif not 0 <= deadline <= horizon:
            yield f"deadline of goal {goal_id} must lie within 0..{horizon} (got {deadline})"


def _team_problems(teams: Sequence[TeamInput]) -> Iterable[str]:
    yield from _duplicate_id_problems("team", (team.id for team in teams))
    for team in teams:
        for day, units in enumerate(team.history):
            if not _is_non_negative(units):
                yield f"team {team.id}: history day {day} must be finite and >= 0 (got {units})"
        if not _is_non_negative(team.planned_daily_rate):
            yield (
                f"team {team.id}: planned_daily_rate must be finite and >= 0 "
                f"(got {team.planned_daily_rate})"
            )
        for day, factor in enumerate(team.capacity_factors):
            if not _is_non_negative(factor):
                yield (
                    f"team {team.id}: capacity factor for day {day} must be finite and >= 0 "
                    f"(got {factor})"
                )


def _ticket_problems(data: ForecastInput) -> Iterable[str]:
    yield from _duplicate_id_problems("ticket", (ticket.id for ticket in data.tickets))
    team_ids = {team.id for team in data.teams}
    for ticket in data.tickets:
        if ticket.team_id not in team_ids:
            yield f"ticket {ticket.id}: unknown team {ticket.team_id}"
        if ticket.not_before < 0:
            yield f"ticket {ticket.id}: not_before must be >= 0 (got {ticket.not_before})"
        yield from _remaining_problems(ticket)


def _remaining_problems(ticket: TicketInput) -> Iterable[str]:
    remaining = ticket.remaining
    if isinstance(remaining, Estimate):
        bounds = (remaining.optimistic, remaining.likely, remaining.pessimistic)
        if not all(_is_non_negative(value) for value in bounds):
            yield f"ticket {ticket.id}: estimate values must be finite and >= 0 (got {bounds})"
        elif not bounds[0] <= bounds[1] <= bounds[2]:
            yield (
                f"ticket {ticket.id}: estimate must satisfy optimistic <= likely <= pessimistic "
                f"(got {bounds})"
            )
    elif not _is_non_negative(remaining):
        yield f"ticket {ticket.id}: remaining must be finite and >= 0 (got {remaining})"


def _blocker_cycle_problems(tickets: Sequence[TicketInput]) -> Iterable[str]:
    """Report each blocker cycle once, e.g. 'blocker cycle: ticket 1 -> 2 -> 1'."""
    blockers = {ticket.id: ticket.blockers for ticket in tickets}
    seen_cycles: set[frozenset[int]] = set()
    for cycle in _find_cycles(blockers):
        if frozenset(cycle) not in seen_cycles:
            seen_cycles.add(frozenset(cycle))
            yield "blocker cycle: ticket " + " -> ".join(str(tid) for tid in [*cycle, cycle[0]])


def _find_cycles(edges: dict[int, tuple[int, ...]]) -> Iterable[list[int]]:
    """Iterative depth-first search; every back edge closes a cycle on the current path."""
    visited: set[int] = set()
    for start in edges:
        if start in visited:
            continue
        path: list[int] = []
        on_path: set[int] = set()
        stack: list[tuple[int, Iterable[int]]] = [(start, iter(edges[start]))]
        visited.add(start)
        path.append(start)
        on_path.add(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
            elif child in on_path:
                yield path[path.index(child) :]
            elif child in edges and child not in visited:
                visited.add(child)
                path.append(child)
                on_path.add(child)
                stack.append((child, iter(edges[child])))


def _duplicate_id_problems(kind: str, ids: Iterable[int]) -> Iterable[str]:
    seen: set[int] = set()
    for entity_id in ids:
        if entity_id in seen:
            yield f"duplicate {kind} id {entity_id}"
        seen.add(entity_id)


def _is_non_negative(value: object) -> bool:
    """Accepts anything float() takes (int, float, Decimal, numpy scalars)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return isfinite(number) and number >= 0


# --- entry point ---------------------------------------------------------------------------


def run_forecast(data: ForecastInput) -> ForecastResult:
    """Simulate `data.trials` futures and summarise finish days per ticket, team and goal."""
    problems = validate_input(data)
    if problems:
        raise ValueError("invalid forecast input: " + "; ".join(problems))
    horizon = resolve_horizon(data)
    plan = _Plan.build(data)
    throughput = [
        _sample_daily_throughput(team, horizon, data.trials, data.seed) for team in plan.teams
    ]
    sizes = _sample_sizes(plan.tickets, data.trials, data.seed)
    finish = _simulate(plan, throughput, sizes, horizon)
    late = finish >= data.sprint_days  # unfinished at the end of the sprint's last day
    return ForecastResult(
        tickets=_ticket_forecasts(plan, finish, late, horizon),
        teams=_team_forecasts(plan, late),
        goals=_goal_forecasts(plan, data, finish, late, horizon),
        trials=data.trials,
        seed=data.seed,
    )


def resolve_horizon(data: ForecastInput) -> int:
    if data.horizon_days is not None:
        return data.horizon_days
    return max(HORIZON_SPRINT_MULTIPLE * data.sprint_days, MIN_HORIZON_DAYS)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Tickets laid out as array rows: grouped by team, rank order inside each team."""

    teams: tuple[TeamInput, ...]
    tickets: tuple[TicketInput, ...]  # row order
    row_of: dict[int, int]  # ticket id -> row
    team_rows: tuple[tuple[int, ...], ...]  # per team (input order): its rows in rank order
    team_pos_of_row: tuple[int, ...]
    blocker_rows: tuple[tuple[int, ...], ...]  # only blockers inside the forecast
    dependent_rows: tuple[tuple[int, ...], ...]

    @classmethod
    def build(cls, data: ForecastInput) -> "_Plan":
        team_pos = {team.id: pos for pos, team in enumerate(data.teams)}
        tickets = tuple(sorted(data.tickets, key=lambda t: (team_pos[t.team_id], t.rank, t.id)))
        row_of = {ticket.id: row for row, ticket in enumerate(tickets)}
        blocker_rows = tuple(
            tuple(sorted({row_of[b] for b in ticket.blockers if b in row_of})) for ticket in tickets
        )
        dependents: list[list[int]] = [[] for _ in tickets]
        for row, blockers in enumerate(blocker_rows):
            for blocker in blockers:
                dependents[blocker].append(row)
        team_rows: list[list[int]] = [[] for _ in data.teams]
        for row, ticket in enumerate(tickets):
            team_rows[team_pos[ticket.team_id]].append(row)
        return cls(
            teams=tuple(data.teams),
            tickets=tickets,
            row_of=row_of,
            team_rows=tuple(tuple(rows) for rows in team_rows),
            team_pos_of_row=tuple(team_pos[ticket.team_id] for ticket in tickets),
            blocker_rows=blocker_rows,
            dependent_rows=tuple(tuple(rows) for rows in dependents),
        )


# --- sampling ------------------------------------------------------------------------------


def _stream(seed: int, kind: int, entity_id: int) -> np.random.Generator:
    """Independent generator per (seed, kind, entity): adding or removing an entity or changing
    a capacity factor leaves every other entity's draws untouched (common random numbers)."""
    return np.random.default_rng(np.random.SeedSequence([seed, kind, entity_id % _UINT64]))


def sample_pert(
    rng: np.random.Generator, low: float, mode: float, high: float, size: int | tuple[int, ...]
) -> np.ndarray:
    """PERT: a Beta on [low, high] peaked at mode, lambda 4 (mean = (low + 4 mode + high) / 6)."""
    low, mode, high = float(low), float(mode), float(high)
    span = high - low
    if span <= 0:
        return np.full(size, float(mode))
    alpha = 1.0 + PERT_LAMBDA * (mode - low) / span
    beta = 1.0 + PERT_LAMBDA * (high - mode) / span
    return low + span * rng.beta(alpha, beta, size)


def _sample_daily_throughput(team: TeamInput, horizon: int, trials: int, seed: int) -> np.ndarray:
    """Units the team delivers per (day, trial), shape (horizon, trials), capacity applied.

    Drawn day-major, so the draws for the first days do not depend on the horizon length; the
    capacity factor only scales the draw, so changing it never changes which day was drawn."""
    rng = _stream(seed, _THROUGHPUT_STREAM, team.id)
    if len(team.history) >= MIN_HISTORY_DAYS:
        history = np.asarray(team.history, dtype=float)
        draws = history[rng.integers(0, len(history), size=(horizon, trials))]
    else:
        rate = float(team.planned_daily_rate)
        low, mode, high = (rate * share for share in FALLBACK_RATE_SPREAD)
        draws = sample_pert(rng, low, mode, high, (horizon, trials))
    return (draws * _capacity_factors(team, horizon)[:, np.newaxis]).astype(WORK_DTYPE)


def _capacity_factors(team: TeamInput, horizon: int) -> np.ndarray:
    factors = np.ones(horizon)
    given = team.capacity_factors[:horizon]
    factors[: len(given)] = [float(factor) for factor in given]
    return factors


def _sample_sizes(tickets: Sequence[TicketInput], trials: int, seed: int) -> np.ndarray:
    """Remaining size per (ticket row, trial); ranges sampled per trial with PERT."""
    sizes = np.empty((len(tickets), trials), dtype=WORK_DTYPE)
    for row, ticket in enumerate(tickets):
        size = ticket.remaining
        if isinstance(size, Estimate):
            rng = _stream(seed, _SIZE_STREAM, ticket.id)
            sizes[row] = sample_pert(rng, size.optimistic, size.likely, size.pessimistic, trials)
        else:
            sizes[row] = float(size)
    return sizes


# --- simulation ----------------------------------------------------------------------------

# Trials (indices) in which a ticket row finished on one day: row -> index arrays.
_Finishes = dict[int, list[np.ndarray]]


def _simulate(
    plan: _Plan, throughput: Sequence[np.ndarray], sizes: np.ndarray, horizon: int
) -> np.ndarray:
    """Finish day per (ticket row, trial); `horizon` means not finished within the horizon.

    `sizes` is consumed (turned into the work to do)."""
    state = _SimulationState.start(plan, sizes, horizon)
    for day in range(horizon):
        state.release_deferred(day)
        finished_today = state.zero_size_finishes.pop(day, {})
        for team_pos, daily_output in enumerate(throughput):
            if state.open_rows[team_pos] and daily_output[day].any():
                state.work_team_day(team_pos, day, daily_output[day].copy(), finished_today)
        state.release_dependents(finished_today, day)
    return state.finish


@dataclass(slots=True)
class _SimulationState:
    """Per (ticket row, trial) state of the simulation.

    `work` is the size minus the done tolerance, so that a ticket is done exactly when its
    remaining work reaches 0: min/subtract never leave crumbs, and "done" is an exact test.
    A ticket waiting for blockers in a trial holds remaining work 0 there; its work moves into
    `remaining` on the evening its last blocker finishes. So the daily loop needs no eligibility
    mask: a blocked ticket absorbs nothing and the capacity flows on to the next one.
    Per-row trial counts let whole rows be skipped without touching their arrays, and releases
    are driven by the (few) trials that finished a blocker today, not by scanning rows.
    """

    plan: _Plan
    work: np.ndarray  # (rows, trials) work to do once released; 0 = nothing (zero size)
    remaining: np.ndarray  # (rows, trials) work left; 0 while blocked and once done
    finish: np.ndarray  # (rows, trials) finish day; horizon = not (yet) finished
    workable: list[int]  # per row: trials where it is released and unfinished
    unfinished: list[int]  # per row: trials where it is not finished (blocked included)
    has_zero_size: list[bool]  # per row: some trial has nothing to do
    open_rows: list[list[int]]  # per team: rows unfinished in some trial, rank order
    zero_size_finishes: dict[int, _Finishes]  # day -> zero-size tickets that finish then
    deferred: dict[int, _Finishes]  # day -> rows (trials) released then: their sprint starts
    not_before: tuple[int, ...]  # per row
    horizon: int
    served: np.ndarray  # scratch (trials,)
    at_zero: np.ndarray  # scratch (trials,) bool
    newly_done: np.ndarray  # scratch (trials,) bool

    @classmethod
    def start(cls, plan: _Plan, sizes: np.ndarray, horizon: int) -> "_SimulationState":
        rows, trials = sizes.shape
        work = sizes  # reused in place: it is big
        work -= _done_tolerance(work)
        np.maximum(work, 0.0, out=work)
        zero_size = work == 0.0
        not_before = tuple(ticket.not_before for ticket in plan.tickets)
        blocked_rows = [row for row, blockers in enumerate(plan.blocker_rows) if blockers]
        waiting_rows = [row for row, first in enumerate(not_before) if first > 0]
        remaining = work.copy()
        remaining[blocked_rows] = 0.0
        remaining[waiting_rows] = 0.0
        state = cls(
            plan=plan,
            work=work,
            remaining=remaining,
            finish=np.full((rows, trials), horizon, dtype=FINISH_DAY_DTYPE),
            workable=np.count_nonzero(remaining, axis=1).tolist(),
            unfinished=[trials] * rows,
            has_zero_size=zero_size.any(axis=1).tolist(),
            open_rows=[list(team_rows) for team_rows in plan.team_rows],
            zero_size_finishes={},
            deferred={},
            not_before=not_before,
            horizon=horizon,
            served=np.empty(trials, dtype=work.dtype),
            at_zero=np.empty(trials, dtype=bool),
            newly_done=np.empty(trials, dtype=bool),
        )
        blocked = set(blocked_rows)
        all_trials = np.arange(trials)
        for row in waiting_rows:
            if row not in blocked and not_before[row] < horizon:
                state.deferred.setdefault(not_before[row], {}).setdefault(row, []).append(
                    all_trials
                )
        waiting = set(waiting_rows)
        for row in np.flatnonzero(zero_size.any(axis=1)).tolist():
            if row not in blocked and row not in waiting:  # nothing to do: done today
                state._schedule_zero_size_finish(row, np.flatnonzero(zero_size[row]), 0)
        return state

    def release_deferred(self, day: int) -> None:
        """Morning of `day`: tickets whose sprint starts today (blockers done) may start."""
        for row, trial_sets in self.deferred.pop(day, {}).items():
            trials = trial_sets[0] if len(trial_sets) == 1 else np.concatenate(trial_sets)
            self._release(row, trials, day)

    def work_team_day(
        self, team_pos: int, day: int, capacity: np.ndarray, finished_today: _Finishes
    ) -> None:
        """Spend one day of a team's output on its tickets in rank order (capacity is consumed).

        Hot loop: a handful of whole-array operations over all trials per ticket."""
        queue = [row for row in self.open_rows[team_pos] if self.unfinished[row]]
        self.open_rows[team_pos] = queue
        remaining, served, at_zero, newly_done = (
            self.remaining,
            self.served,
            self.at_zero,
            self.newly_done,
        )
        workable = self.workable
        for row in queue:
            if not workable[row]:
                continue
            left = remaining[row]
            np.minimum(capacity, left, out=served)
            left -= served
            capacity -= served
            # Exact zero = done (or blocked, which got nothing): see the class docstring.
            np.equal(left, 0.0, out=at_zero)
            np.greater(served, 0.0, out=newly_done)
            newly_done &= at_zero
            if np.count_nonzero(newly_done):
                self._record_finishes(row, day, finished_today)
            if not capacity.any():  # spent in every trial: the rest gets nothing today
                break

    def _record_finishes(self, row: int, day: int, finished_today: _Finishes) -> None:
        # Index arrays, not masks: only the finishing trials' cache lines are written.
        done_now = np.flatnonzero(self.newly_done)
        self.finish[row, done_now] = day
        self.workable[row] -= done_now.size
        self.unfinished[row] -= done_now.size
        finished_today.setdefault(row, []).append(done_now)

    def release_dependents(self, finished_today: _Finishes, day: int) -> None:
        """Evening of `day`: tickets whose last blocker finished today may start tomorrow."""
        candidates: _Finishes = {}
        for row, trial_sets in finished_today.items():
            for dependent in self.plan.dependent_rows[row]:
                candidates.setdefault(dependent, []).extend(trial_sets)
        for row, trial_sets in candidates.items():
            trials = (
                trial_sets[0] if len(trial_sets) == 1 else np.unique(np.concatenate(trial_sets))
            )
            blockers = self.plan.blocker_rows[row]
            if len(blockers) > 1:
                # Released only where every other blocker is done by today as well. A zero-size
                # blocker scheduled for a later day holds its dependents until that day.
                last_blocker_done = self.finish[np.ix_(blockers, trials)].max(axis=0)
                trials = trials[last_blocker_done == day]
            if trials.size:
                first_day = max(day + 1, self.not_before[row])
                if first_day == day + 1:
                    self._release(row, trials, first_day)
                elif first_day < self.horizon:
                    self.deferred.setdefault(first_day, {}).setdefault(row, []).append(trials)

    def _release(self, row: int, trials: np.ndarray, first_day: int) -> None:
        work = self.work[row, trials]
        if self.has_zero_size[row]:
            zero_size = work == 0.0
            self._schedule_zero_size_finish(row, trials[zero_size], first_day)
            trials, work = trials[~zero_size], work[~zero_size]
        self.remaining[row, trials] = work
        self.workable[row] += trials.size

    def _schedule_zero_size_finish(self, row: int, trials: np.ndarray, day: int) -> None:
        if trials.size and day < self.horizon:
            self.finish[row, trials] = day
            self.unfinished[row] -= trials.size
            self.zero_size_finishes.setdefault(day, {}).setdefault(row, []).append(trials)


def _done_tolerance(sizes: np.ndarray) -> np.ndarray:
    """Per row (rows, 1): float32 rounding allowance, relative to the row's largest size."""
    largest = sizes.max(axis=1, keepdims=True, initial=0.0)
    return RELATIVE_DONE_TOLERANCE * np.maximum(largest, 1.0)


# --- summaries -----------------------------------------------------------------------------


def _ticket_forecasts(
    plan: _Plan, finish: np.ndarray, late: np.ndarray, horizon: int
) -> dict[int, TicketForecast]:
    forecasts = {}
    for row, ticket in enumerate(plan.tickets):
        p50, p85, p95 = finish_day_percentiles(finish[row], horizon, PERCENTILES)
        p50 = median_finish_day(finish[row], horizon)
        forecasts[ticket.id] = TicketForecast(
            p50=p50, p85=p85, p95=p95, p_done_by_sprint_end=_share(~late[row])
        )
    return forecasts


def finish_day_percentiles(
    finish_days: np.ndarray, horizon: int, percents: Sequence[int]
) -> list[int | None]:
    """Smallest simulated day on or before which at least p% of trials finished (inverted CDF);
    None when that day lies beyond the horizon. Integer arithmetic keeps e.g. 85% of 10,000
    trials at exactly 8,500."""
    trials = len(finish_days)
    finished_by_day = np.cumsum(np.bincount(finish_days, minlength=horizon + 1))
    days = []
    for percent in percents:
        needed = -(-percent * trials // 100)  # ceil without float rounding
        day = int(np.searchsorted(finished_by_day, needed, side="left"))
        days.append(day if day < horizon else None)
    return days


def median_finish_day(finish_days: np.ndarray, horizon: int) -> int | None:
    """The P50 day: the simulated day whose share of trials finished on or before it is
    nearest to one half (ties: the later day); None beyond the horizon.

    P85 and P95 are commitment dates and keep "at least p%" (finish_day_percentiles). For the
    median that rule over-covers: near the median one day holds 15-30% of the trials, so the
    first day with at least half done was met 55-66% of the time even by a perfect forecast
    (docs/calibration.md). The nearest day is met about half the time, as a P50 should be."""
    trials = len(finish_days)
    finished_by_day = np.cumsum(np.bincount(finish_days, minlength=horizon + 1))
    day = int(np.searchsorted(finished_by_day, -(-trials // 2), side="left"))
    below = trials - 2 * int(finished_by_day[day - 1]) if day > 0 else trials  # doubled
    above = 2 * int(finished_by_day[day]) - trials  # distances to one half, in integers
    if below < above:
        day -= 1  # the day before is nearer to half
    return day if day < horizon else None


def _team_forecasts(plan: _Plan, late: np.ndarray) -> dict[int, TeamForecast]:
    forecasts = {}
    for team, rows in zip(plan.teams, plan.team_rows, strict=True):
        history_days = len(team.history)
        all_done = ~late[list(rows)].any(axis=0) if rows else np.ones(1, dtype=bool)
        forecasts[team.id] = TeamForecast(
            p_all_done=_share(all_done),
            history_days=history_days,
            coverage=history_coverage(history_days),
            low_confidence=history_days < MIN_HISTORY_DAYS,
        )
    return forecasts


def history_coverage(history_days: int) -> float:
    """Chance that the next day's throughput falls inside the range of n sampled days."""
    if history_days < 1:
        return 0.0
    return (history_days - 1) / (history_days + 1)


def _goal_forecasts(
    plan: _Plan, data: ForecastInput, finish: np.ndarray, sprint_late: np.ndarray, horizon: int
) -> dict[int, GoalForecast]:
    if not data.goals:
        return {}
    chain = _CriticalChain.build(plan, finish)
    late_by_deadline = {data.sprint_days: sprint_late}  # lateness depends on the deadline only
    forecasts = {}
    for goal_id, ticket_ids in data.goals.items():
        deadline = data.goal_deadlines.get(goal_id, data.sprint_days)
        if deadline not in late_by_deadline:
            late_by_deadline[deadline] = finish >= deadline
        rows = [plan.row_of[t] for t in ticket_ids if t in plan.row_of]
        goal = _goal_forecast(plan, rows, late_by_deadline[deadline], chain)
        forecasts[goal_id] = _with_goal_days(goal, finish, rows, horizon)
    return forecasts


def _with_goal_days(
    goal: GoalForecast, finish: np.ndarray, rows: list[int], horizon: int
) -> GoalForecast:
    if not rows:
        return goal
    goal_finish = finish[rows].max(axis=0)
    p85, p95 = finish_day_percentiles(goal_finish, horizon, (85, 95))
    p50 = median_finish_day(goal_finish, horizon)
    return replace(goal, p50=p50, p85=p85, p95=p95)


@dataclass(frozen=True, slots=True)
class _CriticalChain:
    """Per row and trial: the blocker row that released the ticket (-1: none in the
    forecast) and the days the ticket spent from its release to its finish."""

    finish: np.ndarray  # (rows, trials)
    releaser: np.ndarray  # (rows, trials) row of the last-finishing blocker, or -1
    spent: np.ndarray  # (rows, trials) finish - release + 1

    @classmethod
    def build(cls, plan: _Plan, finish: np.ndarray) -> "_CriticalChain":
        releaser = np.full(finish.shape, -1, dtype=np.int64)
        release = np.zeros(finish.shape, dtype=np.int64)
        for row, blockers in enumerate(plan.blocker_rows):
            if blockers:
                blocker_rows = np.asarray(blockers)
                blocker_finish = finish[blocker_rows]
                last = blocker_finish.argmax(axis=0)
                releaser[row] = blocker_rows[last]
                release[row] = blocker_finish.max(axis=0) + 1
        return cls(finish, releaser, finish - release + 1)

    def blamed_rows(self, goal_rows: list[int], trials: np.ndarray) -> np.ndarray:
        """For each trial in `trials`, the row that spent the most days on the chain that
        ends at the goal's last-finishing ticket (ties: nearer the goal)."""
        goal = np.asarray(goal_rows)
        current = goal[self.finish[np.ix_(goal, trials)].argmax(axis=0)]
        blamed = current.copy()
        most = self.spent[current, trials]
        walking = np.ones(len(trials), dtype=bool)
        for _ in range(len(self.finish)):  # a chain is never longer than the rows
            nxt = np.where(walking, self.releaser[current, trials], -1)
            walking = nxt >= 0
            if not walking.any():
                break
            current = np.where(walking, nxt, current)
            spent = self.spent[current, trials]
            longer = walking & (spent > most)
            blamed = np.where(longer, current, blamed)
            most = np.where(longer, spent, most)
        return blamed


def _goal_forecast(
    plan: _Plan, goal_rows: list[int], late: np.ndarray, chain: _CriticalChain
) -> GoalForecast:
    """Goal tickets outside the forecast count as done; an empty goal is met."""
    if not goal_rows:
        return GoalForecast(1.0, None, {}, {})
    failed_trials = np.flatnonzero(late[goal_rows].any(axis=0))
    failures = len(failed_trials)
    if failures == 0:
        return GoalForecast(1.0, None, {}, {})
    blamed_rows, counts = np.unique(chain.blamed_rows(goal_rows, failed_trials), return_counts=True)
    by_ticket: dict[int, float] = {}
    team_counts: dict[int, int] = {}
    for row, count in zip(blamed_rows.tolist(), counts.tolist(), strict=True):
        by_ticket[plan.tickets[row].id] = count / failures
        team_id = plan.teams[plan.team_pos_of_row[row]].id
        team_counts[team_id] = team_counts.get(team_id, 0) + count
    # Counted in whole trials, divided once: a sum of per-ticket fractions can round past 1.
    by_team = {team_id: count / failures for team_id, count in team_counts.items()}
    by_team, by_ticket = _largest_first(by_team), _largest_first(by_ticket)
    return GoalForecast(
        p_met=(late.shape[1] - failures) / late.shape[1],
        bottleneck_team_id=next(iter(by_team), None),
        failure_share_by_team=by_team,
        failure_share_by_ticket=by_ticket,
    )


def _largest_first(shares: dict[int, float]) -> dict[int, float]:
    """Drop zero shares; order by share descending, then id, so the first key is the bottleneck."""
    ordered = sorted((item for item in shares.items() if item[1] > 0), key=lambda i: (-i[1], i[0]))
    return dict(ordered)


def _share(mask: np.ndarray) -> float:
    return float(np.count_nonzero(mask)) / mask.size
