"""What /health/ and the pages need to know about the background work."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from .models import DerivedChange, Heartbeat

# How each kind of derived data reads to a person (sprintplan.derived's kinds).
KIND_LABELS = {
    "insights": "ticket insights",
    "sprint_forecast": "sprint forecasts",
    "pi_forecast": "PI forecasts",
}


def oldest_pending_markers() -> dict[str, datetime | None]:
    """For each kind of derived data, when its oldest unprocessed change was recorded
    (None: nothing pending). One query."""
    rows = dict(
        DerivedChange.objects.values("kind")
        .annotate(at=Min("created_at"))
        .values_list("kind", "at")
    )
    return {label: rows.get(kind) for kind, label in KIND_LABELS.items()}


def age_seconds(moment: datetime | None, now: datetime | None = None) -> float | None:
    if moment is None:
        return None
    return max(0.0, ((now or timezone.now()) - moment).total_seconds())


def is_overdue(pending_since: datetime | None, now: datetime | None = None) -> bool:
    """True when a change has waited for its derived data longer than the threshold: the
    background work is not running (or not keeping up)."""
    age = age_seconds(pending_since, now)
    return age is not None and age > settings.HEALTH_DERIVED_MAX_AGE


@dataclass(frozen=True)
class WorkerState:
    name: str
    roles: list[str]
    last_heartbeat: datetime
    age_seconds: float


def worker_states(now: datetime) -> list[WorkerState]:
    return [
        WorkerState(
            name=row.name,
            roles=row.roles.split(),
            last_heartbeat=row.beat_at,
            age_seconds=round(age_seconds(row.beat_at, now), 1),
        )
        for row in Heartbeat.objects.all()
    ]
