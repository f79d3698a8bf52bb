"""The contract between the forecast and everything that reads it: typed records.

A stored forecast (`ForecastRun.result`) and the API speak JSON; pages, the ceremonies and
the notifications read a `SprintForecast` instead of looking keys up in a dict, so a field
that is renamed or missing fails in one place (here) and not in a template. Pure: no Django.

`SprintForecast.from_json` reads what any earlier version stored (fields added later get
their neutral default); `to_json` writes exactly what the API has always served."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

READY = "ready"


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True, slots=True)
class TicketOutlook:
    """When one ticket is likely done (working-day dates) and its chance by the sprint end."""

    team: str
    in_sprint: bool
    remaining: float
    p50: date | None
    p85: date | None
    p95: date | None
    p_done_by_sprint_end: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TicketOutlook":
        return cls(
            team=data.get("team", ""),
            in_sprint=data.get("in_sprint", True),
            remaining=data.get("remaining", 0.0),
            p50=_day(data.get("p50")),
            p85=_day(data.get("p85")),
            p95=_day(data.get("p95")),
            p_done_by_sprint_end=data.get("p_done_by_sprint_end", 0.0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "in_sprint": self.in_sprint,
            "remaining": self.remaining,
            "p50": _iso(self.p50),
            "p85": _iso(self.p85),
            "p95": _iso(self.p95),
            "p_done_by_sprint_end": self.p_done_by_sprint_end,
        }


@dataclass(frozen=True, slots=True)
class TeamOutlook:
    """A team's chance to finish all its sprint work, and how much history backs it."""

    p_all_done: float
    low_confidence: bool
    history_days: int
    coverage: float
    planned_daily_rate: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TeamOutlook":
        return cls(
            p_all_done=data.get("p_all_done", 0.0),
            low_confidence=data.get("low_confidence", False),
            history_days=data.get("n", 0),
            coverage=data.get("coverage", 0.0),
            planned_daily_rate=data.get("planned_daily_rate", 0.0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "p_all_done": self.p_all_done,
            "low_confidence": self.low_confidence,
            "n": self.history_days,
            "coverage": self.coverage,
            "planned_daily_rate": self.planned_daily_rate,
        }


@dataclass(frozen=True, slots=True)
class GoalOutlook:
    """One sprint goal's chance to be met and what stands in its way. `id` is None for the
    implicit goal (all committed work) of a sprint without written goals."""

    id: int | None
    text: str
    implicit: bool
    deadline: date | None
    p50: date | None
    p85: date | None
    p_met: float
    outlook: str
    bottleneck_team: str | None
    bottleneck_tickets: tuple[str, ...]
    failure_share_by_team: dict[str, float] = field(default_factory=dict)

    @property
    def bottleneck_share(self) -> float:
        """The bottleneck team's share of the trials in which the goal failed."""
        return self.failure_share_by_team.get(self.bottleneck_team or "", 0.0)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GoalOutlook":
        return cls(
            id=data.get("id"),
            text=data.get("text", ""),
            implicit=data.get("implicit", False),
            deadline=_day(data.get("deadline")),
            p50=_day(data.get("p50")),
            p85=_day(data.get("p85")),
            p_met=data.get("p_met", 0.0),
            outlook=data.get("outlook", ""),
            bottleneck_team=data.get("bottleneck_team") or None,
            bottleneck_tickets=tuple(data.get("bottleneck_tickets") or ()),
            failure_share_by_team=dict(data.get("failure_share_by_team") or {}),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "deadline": _iso(self.deadline),
            "p50": _iso(self.p50),
            "p85": _iso(self.p85),
            "outlook": self.outlook,
            "id": self.id,
            "text": self.text,
            "implicit": self.implicit,
            "p_met": self.p_met,
            "bottleneck_team": self.bottleneck_team,
            "bottleneck_tickets": list(self.bottleneck_tickets),
            "failure_share_by_team": dict(self.failure_share_by_team),
        }


@dataclass(frozen=True, slots=True)
class UnplannedBlocker:
    """A ticket planned in no sprint that sprint work waits for: the forecast assumes it
    never finishes."""

    key: str
    team: str
    blocks: tuple[str, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "UnplannedBlocker":
        return cls(data["key"], data.get("team", ""), tuple(data.get("blocks") or ()))

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "team": self.team, "blocks": list(self.blocks)}


@dataclass(frozen=True)
class SprintForecast:
    """One Monte Carlo forecast of a sprint, as stored and served."""

    as_of: date | None
    sprint_end: date | None
    sprint_days: int
    trials: int
    seed: int
    tickets: dict[str, TicketOutlook]
    teams: dict[str, TeamOutlook]
    goals: tuple[GoalOutlook, ...]
    unplanned_blockers: tuple[UnplannedBlocker, ...] = ()
    assumptions: tuple[str, ...] = ()
    status: str = READY

    @property
    def ready(self) -> bool:
        return self.status == READY

    def goal(self, goal_id: int) -> GoalOutlook | None:
        return next((goal for goal in self.goals if goal.id == goal_id), None)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "SprintForecast":
        data = data or {}
        return cls(
            status=data.get("status", ""),
            as_of=_day(data.get("as_of")),
            sprint_end=_day(data.get("sprint_end")),
            sprint_days=data.get("sprint_days", 0),
            trials=data.get("trials", 0),
            seed=data.get("seed", 0),
            tickets={
                key: TicketOutlook.from_json(entry)
                for key, entry in (data.get("tickets") or {}).items()
            },
            teams={
                key: TeamOutlook.from_json(entry)
                for key, entry in (data.get("teams") or {}).items()
            },
            goals=tuple(GoalOutlook.from_json(goal) for goal in data.get("goals") or ()),
            unplanned_blockers=tuple(
                UnplannedBlocker.from_json(b) for b in data.get("unplanned_blockers") or ()
            ),
            assumptions=tuple(data.get("assumptions") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "as_of": _iso(self.as_of),
            "sprint_end": _iso(self.sprint_end),
            "sprint_days": self.sprint_days,
            "trials": self.trials,
            "seed": self.seed,
            "tickets": {key: ticket.to_json() for key, ticket in self.tickets.items()},
            "teams": {key: team.to_json() for key, team in self.teams.items()},
            "goals": [goal.to_json() for goal in self.goals],
            "unplanned_blockers": [b.to_json() for b in self.unplanned_blockers],
            "assumptions": list(self.assumptions),
        }
