"""'What should we do?': candidate changes to a sprint, each forecast by the what-if engine
and ranked by the P(goal met) it would give (plain data in, plain data out; nothing saved).

Candidates, for the goal with the lowest P(goal met):
- take a goal ticket out of the sprint (only tickets no other unfinished goal ticket waits
  for: taking out a blocker would leave its dependents waiting for ever);
- split a bottleneck ticket: half of what is left stays, the rest goes to the backlog;
- plan an unplanned blocker into this sprint;
- lend N person-days of a team with slack to the bottleneck team from today;
- extend the sprint by k working days;
- move the goal's deadline by k working days.

Every candidate runs with the baseline's seed and trial count (common random numbers), so
the difference to "today" is the change's effect, not sampling noise.
"""

from dataclasses import dataclass, field, replace
from datetime import date

from . import capacity, forecast_adapter, forecast_engine
from .forecast_adapter import GoalData, SprintData

OPTION_TRIALS = 2000
LEND_SHARES = (0.25, 0.5)  # x 2: half and all of the lender's slack
EXTEND_DAYS = (2, 5)
DEADLINE_DAYS = 5
MAX_TAKE_OUT = 3
MAX_SPLIT = 2
TOP_OPTIONS = 8


@dataclass(frozen=True)
class Option:
    kind: str  # take_out | split | plan_blocker | lend | extend | deadline
    title: str  # what a person reads
    params: dict  # what "Apply" needs (keys, team keys, numbers, ISO dates)
    p_met: float = 0.0
    p85: date | None = None

    @property
    def group(self) -> tuple:
        if self.kind == "lend":
            return (self.kind, self.params["from_team"], self.params["to_team"])
        if self.kind in ("extend", "deadline"):
            return (self.kind,)
        return (self.kind, self.params.get("key"))

    def with_result(self, p_met: float, p85: date | None) -> "Option":
        return replace(self, p_met=p_met, p85=p85)


@dataclass(frozen=True)
class OptionsReport:
    goal_id: int | None
    goal_text: str
    p_met: float  # today, with the options' trials and seed
    p85: date | None
    options: list[Option] = field(default_factory=list)  # best first

    @property
    def better(self) -> list[Option]:
        return [o for o in self.options if o.p_met > self.p_met]

    def top(self, limit: int = TOP_OPTIONS) -> list[Option]:
        """The best variant of each choice, best first: one row for extending the sprint,
        one per lending team, one per ticket to take out or split."""
        seen, rows = set(), []
        for option in self.options:
            group = option.group
            if group not in seen:
                seen.add(group)
                rows.append(option)
        return rows[:limit]


def evaluate(data: SprintData, goal_id: int, seed: int, trials: int) -> tuple[float, date | None]:
    """P(goal met) and the goal's P85 date for the data (one engine run)."""
    forecast_input = replace(forecast_adapter.build_input(data, seed), trials=trials)
    result = forecast_engine.run_forecast(forecast_input)
    goal = result.goals.get(goal_id)
    if goal is None:
        return 1.0, None
    dates = capacity.working_days_from(data.day0, forecast_engine.resolve_horizon(forecast_input))
    return goal.p_met, dates[goal.p85] if goal.p85 is not None else None


def target_goal(data: SprintData, current: dict) -> GoalData:
    """The goal with the lowest P(goal met) in the stored result (the first goal without)."""
    by_key = {(g["id"], g["text"]): g["p_met"] for g in current.get("goals", [])}

    def p_of(goal: GoalData) -> float:
        return by_key.get((None if goal.implicit else goal.id, goal.text), 1.0)

    return min(data.goals, key=lambda goal: (p_of(goal), goal.id))


def ranked_options(
    data: SprintData, current: dict, *, seed: int, trials: int = OPTION_TRIALS
) -> OptionsReport:
    goal = target_goal(data, current)
    p_now, p85_now = evaluate(data, goal.id, seed, trials)
    options = []
    for option, changed in candidates(data, goal, current):
        p_met, p85 = evaluate(changed, goal.id, seed, trials)
        options.append(option.with_result(p_met, p85))
    options.sort(key=lambda o: (-o.p_met, o.p85 or date.max, o.title))
    return OptionsReport(
        goal_id=None if goal.implicit else goal.id,
        goal_text=goal.text,
        p_met=p_now,
        p85=p85_now,
        options=options,
    )


# --- candidates ------------------------------------------------------------------------------


def candidates(data: SprintData, goal: GoalData, current: dict):
    """(Option, the sprint as it would be) pairs."""
    result_goal = next(
        (g for g in current.get("goals", []) if g["text"] == goal.text),
        {"bottleneck_tickets": [], "bottleneck_team": None},
    )
    by_key = {t.key: t for t in data.tickets.values()}
    blamed = [by_key[k] for k in result_goal.get("bottleneck_tickets", []) if k in by_key]
    bottleneck = next(
        (t for t in data.teams.values() if t.key == result_goal.get("bottleneck_team")), None
    )
    yield from _take_out(data, goal, blamed, bottleneck)
    yield from _split(data, blamed)
    yield from _plan_blockers(data)
    if bottleneck is not None:
        yield from _lend(data, bottleneck)
    yield from _extend(data, goal)


def _take_out(data: SprintData, goal: GoalData, blamed, bottleneck):
    """Goal tickets nothing else in the goal waits for, and the bottleneck team's sprint
    tickets outside the goal (they take its capacity first when ranked higher)."""
    unfinished = {t for t in goal.ticket_ids if t in data.tickets and not data.tickets[t].done}
    waited_for = {b for t in data.blockers for b in data.blockers[t]}
    leaves = [data.tickets[t] for t in unfinished if t not in waited_for]
    order = {t.id: i for i, t in enumerate(blamed)}
    leaves.sort(key=lambda t: (order.get(t.id, len(order)), -t.remaining, t.key))
    outside_goal = sorted(
        (
            t
            for t in data.tickets.values()
            if t.in_sprint
            and not t.done
            and t.id not in unfinished
            and t.id not in waited_for
            and bottleneck is not None
            and t.team_id == bottleneck.id
        ),
        key=lambda t: (t.rank, t.id),
    )
    for ticket in outside_goal[:MAX_TAKE_OUT] + leaves[:MAX_TAKE_OUT]:
        proposal = forecast_adapter.Proposal(remove_tickets=(ticket.key,))
        changed = forecast_adapter.apply_proposal(data, proposal)
        yield (
            Option("take_out", f"Take {ticket.key} out of the sprint", {"key": ticket.key}),
            changed,
        )


def _split(data: SprintData, blamed):
    for ticket in [t for t in blamed if t.remaining > 0 and t.in_sprint][:MAX_SPLIT]:
        keep = ticket.progress + ticket.remaining / 2
        proposal = forecast_adapter.Proposal(change_size={ticket.key: keep})
        changed = forecast_adapter.apply_proposal(data, proposal)
        later = ticket.remaining / 2
        yield (
            Option(
                "split",
                f"Split {ticket.key}: keep {_num(keep)} in the sprint, "
                f"move the other {_num(later)} to the backlog",
                {"key": ticket.key, "keep": keep},
            ),
            changed,
        )


def _plan_blockers(data: SprintData):
    for ticket in forecast_adapter.unplanned_blockers(data):
        tickets = dict(data.tickets)
        tickets[ticket.id] = replace(ticket, in_sprint=True, sprint_id=data.sprint_id)
        yield (
            Option(
                "plan_blocker",
                f"Plan {ticket.key} (planned in no sprint) into this sprint",
                {"key": ticket.key},
            ),
            replace(data, tickets=tickets),
        )


def slack_person_days(data: SprintData, team) -> float:
    """Person-days the team has left in the sprint beyond its remaining work there (at its
    planned rate)."""
    available = capacity.available_person_days(data.days, team.members)
    per_person_day = team.rate * team.focus
    work = sum(
        t.remaining
        for t in data.tickets.values()
        if t.team_id == team.id and not t.done and (t.in_sprint or t.sprint_id == data.sprint_id)
    )
    needed = work / per_person_day if per_person_day > 0 else available
    return available - needed


def _lend(data: SprintData, bottleneck):
    for lender in sorted(data.teams.values(), key=lambda t: t.key):
        if lender.id == bottleneck.id or not lender.members:
            continue
        slack = slack_person_days(data, lender)
        seen = set()
        for share in LEND_SHARES:
            person_days = int(slack * share * 2)  # half and all of the slack
            if person_days < 1 or person_days in seen:
                continue
            seen.add(person_days)
            proposal = forecast_adapter.Proposal(moves=((lender.id, bottleneck.id, person_days),))
            yield (
                Option(
                    "lend",
                    f"Lend {person_days} person-day{'s' if person_days != 1 else ''} of "
                    f"{lender.key} to {bottleneck.key} "
                    f"from {_day(data.day0)}",
                    {
                        "from_team": lender.key,
                        "to_team": bottleneck.key,
                        "person_days": person_days,
                        "from_date": data.day0.isoformat(),
                    },
                ),
                forecast_adapter.apply_proposal(data, proposal),
            )


def _extend(data: SprintData, goal: GoalData):
    for days in EXTEND_DAYS:
        new_end = capacity.working_days_from(data.end, days + 1)[-1]
        yield (
            Option(
                "extend",
                f"Extend the sprint by {days} working days (to {_day(new_end)})",
                {"days": days, "end_date": new_end.isoformat()},
            ),
            replace(data, extra_days=data.extra_days + days),
        )
    if goal.implicit:
        return
    current = goal.deadline or data.end
    new_deadline = capacity.working_days_from(current, DEADLINE_DAYS + 1)[-1]
    goals = tuple(replace(g, deadline=new_deadline) if g.id == goal.id else g for g in data.goals)
    yield (
        Option(
            "deadline",
            f"Move the goal's deadline by {DEADLINE_DAYS} working days (to {_day(new_deadline)})",
            {"goal_id": goal.id, "deadline": new_deadline.isoformat()},
        ),
        replace(data, goals=goals),
    )


def _day(day: date) -> str:
    return f"{day:%a %b} {day.day}"


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:g}"
