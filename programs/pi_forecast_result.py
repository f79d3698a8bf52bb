"""The PI forecast as its readers see it: typed records instead of a dict read by key.

`ProgramForecastRun.result` stays the stored and served JSON (ids as string keys, ISO
dates); the board, the scrum of scrums and the leading indicators read a `PIForecast`.
`from_json` accepts what any earlier version stored: runs from before per-ticket dates have
`tickets = None`, which tells the board to judge a dependency by the whole provider
feature. Pure: no Django."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any


def _day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _chance(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class FeatureOutlook:
    """When a feature is likely done, the iteration its P85 falls in, and its chances to
    finish by its planned iteration and by its milestone (None: no milestone)."""

    p50: date | None
    p85: date | None
    p95: date | None
    p85_sprint_id: int | None
    p_by_planned: float | None
    p_by_milestone: float | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FeatureOutlook":
        return cls(
            p50=_day(data.get("p50")),
            p85=_day(data.get("p85")),
            p95=_day(data.get("p95")),
            p85_sprint_id=data.get("p85_sprint_id"),
            p_by_planned=_chance(data.get("p_by_planned")),
            p_by_milestone=_chance(data.get("p_by_milestone")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "p50": _iso(self.p50),
            "p85": _iso(self.p85),
            "p95": _iso(self.p95),
            "p85_sprint_id": self.p85_sprint_id,
            "p_by_planned": self.p_by_planned,
            "p_by_milestone": self.p_by_milestone,
        }


@dataclass(frozen=True, slots=True)
class MilestoneChance:
    """A milestone's chance to be met and the team most often on the failing chain."""

    p_met: float | None
    bottleneck_team_id: int | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "MilestoneChance":
        return cls(_chance(data.get("p_met")), data.get("bottleneck_team_id"))

    def to_json(self) -> dict[str, Any]:
        return {"p_met": self.p_met, "bottleneck_team_id": self.bottleneck_team_id}


@dataclass(frozen=True)
class PIForecast:
    """One stored Monte Carlo forecast of a planning interval."""

    features: dict[int, FeatureOutlook]
    milestones: dict[int, MilestoneChance]
    # Each unfinished ticket's P85 date; None for runs stored before it was recorded.
    tickets: dict[int, date | None] | None
    low_confidence_team_ids: tuple[int, ...] = ()

    def milestone(self, milestone_id: int) -> MilestoneChance:
        """Its chance; a milestone the run does not know has no figure (not 0 %)."""
        return self.milestones.get(milestone_id, MilestoneChance(None, None))

    @classmethod
    def empty(cls) -> "PIForecast":
        return cls(features={}, milestones={}, tickets={})

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "PIForecast":
        data = data or {}
        tickets = data.get("tickets")
        return cls(
            features={
                int(key): FeatureOutlook.from_json(entry)
                for key, entry in (data.get("features") or {}).items()
                if isinstance(entry, Mapping)
            },
            milestones={
                int(key): MilestoneChance.from_json(entry)
                for key, entry in (data.get("milestones") or {}).items()
                if isinstance(entry, Mapping)
            },
            tickets=None
            if tickets is None
            else {int(key): _day(value) for key, value in tickets.items()},
            low_confidence_team_ids=tuple(data.get("low_confidence_team_ids") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        stored: dict[str, Any] = {
            "features": {str(key): f.to_json() for key, f in self.features.items()},
            "milestones": {str(key): m.to_json() for key, m in self.milestones.items()},
        }
        if self.tickets is not None:
            stored["tickets"] = {str(key): _iso(day) for key, day in self.tickets.items()}
        stored["low_confidence_team_ids"] = list(self.low_confidence_team_ids)
        return stored
