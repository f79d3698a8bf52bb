"""What the sprint page shows about the sprint as a whole: goal chances, capacity, the
Definition of Done. Shapes stored results for templates; reads through selectors only."""

from dataclasses import dataclass, field, replace
from datetime import date

from accounts.policy import can_change_capacity
from sprintplan import probability

from . import selectors
from .forecast_result import SprintForecast, TicketOutlook, UnplannedBlocker


@dataclass(frozen=True)
class GoalCard:
    text: str
    p_met: float
    bottleneck_team: str
    bottleneck_share: float
    bottleneck_tickets: list[str]
    deadline: date | None = None
    p85: date | None = None

    @property
    def percent(self) -> int:
        return round(self.p_met * 100)

    @property
    def bottleneck_percent(self) -> int:
        return round(self.bottleneck_share * 100)

    @property
    def outlook(self) -> str:
        """In words, so colour is never the only signal (sprintplan.probability)."""
        return probability.outlook(self.p_met)

    @property
    def level(self) -> str:
        return probability.level(self.p_met)


@dataclass
class Forecast:
    """The latest stored forecast as the sprint page shows it: `stored` is the whole typed
    result; the rest is shaped for the page (names, not keys; words, not flags)."""

    computed_at: object
    stored: SprintForecast
    goals: list[GoalCard]
    low_confidence: list[str] = field(default_factory=list)

    @property
    def trials(self) -> int:
        return self.stored.trials

    @property
    def sprint_end(self) -> date | None:
        return self.stored.sprint_end

    @property
    def tickets(self) -> dict[str, TicketOutlook]:
        return self.stored.tickets

    @property
    def assumptions(self) -> tuple[str, ...]:
        return self.stored.assumptions

    @property
    def unplanned(self) -> tuple[UnplannedBlocker, ...]:
        return self.stored.unplanned_blockers


def forecast_for(sprint, team_names: dict[str, str]) -> Forecast | None:
    """The latest stored forecast of the sprint, or None while the first one is pending."""
    run = selectors.latest_forecast(sprint)
    if run is None or not run.forecast.ready:
        return None
    stored = run.forecast
    goals = [
        GoalCard(
            text=goal.text,
            p_met=goal.p_met,
            bottleneck_team=team_names.get(goal.bottleneck_team or "", ""),
            bottleneck_share=goal.bottleneck_share,
            bottleneck_tickets=list(goal.bottleneck_tickets),
            deadline=goal.deadline,
            p85=goal.p85,
        )
        for goal in stored.goals
    ]
    low = [
        f"{team_names.get(key, key)} (n = {team.history_days}, "
        f"{round(team.coverage * 100)}% coverage)"
        for key, team in stored.teams.items()
        if team.low_confidence
    ]
    return Forecast(computed_at=run.computed_at, stored=stored, goals=goals, low_confidence=low)


def attach_ticket_forecasts(tickets, forecast: Forecast | None) -> None:
    """Each ticket's P85 date and chance to finish in the sprint, and whether it slips."""
    for ticket in tickets:
        entry = forecast.tickets.get(ticket.key) if forecast else None
        ticket.forecast = entry
        p85 = entry.p85 if entry else None
        ticket.forecast_p85 = p85
        ticket.forecast_slips = (
            bool(forecast and forecast.sprint_end and (p85 is None or p85 > forecast.sprint_end))
            and not ticket.is_done
        )
        ticket.forecast_percent = round(entry.p_done_by_sprint_end * 100) if entry else None


def root_blockers_by_impact(rows) -> list[tuple[object, int]]:
    """Unfinished root blockers of the sprint's tickets, most waited-on first. `rows`: every
    ticket of the sprint with `id`, `key`, `blocked`, `root_blocker_ids` and
    `downstream_count` (None when it has no insights yet)."""
    by_id = {row.id: row for row in rows}
    roots = {root_id for row in rows if row.blocked for root_id in row.root_blocker_ids}
    ranked = [
        (by_id[root_id], by_id[root_id].downstream_count)
        for root_id in roots
        if root_id in by_id and by_id[root_id].downstream_count is not None
    ]
    return sorted(ranked, key=lambda pair: (-pair[1], pair[0].key))


def sprint_dashboard(request, sprint, tickets) -> dict:
    """Capacity, adjustments and the stored forecast (attached to `tickets`, the rows shown)."""
    capacity = selectors.sprint_capacity(sprint)
    team_names = {summary.team_key: summary.team_name for summary in capacity}
    forecast = forecast_for(sprint, team_names)
    attach_ticket_forecasts(tickets, forecast)
    may_change = {s.team_id: can_change_capacity(request.user, s.team_id) for s in capacity}
    adjustments = list(selectors.sprint_adjustments(sprint))
    for adjustment in adjustments:
        adjustment.may_remove = may_change.get(adjustment.team_id, False)
    capacity = [replace(s, may_change=may_change[s.team_id]) for s in capacity]
    return {
        "forecast": forecast,
        # Teams with work or capacity settings in the sprint first; the others (e.g. another
        # program's squads) folded away, still editable.
        "capacity": [s for s in capacity if s.committed or s.has_settings],
        "capacity_idle": [s for s in capacity if not (s.committed or s.has_settings)],
        "capacity_teams": [s for s in capacity if s.may_change],
        "adjustments": adjustments,
    }
