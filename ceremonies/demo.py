"""The ceremonies' part of the demo: the blocked history since sprint planning (the demo's
links were made at planning, the working day before the sprint) and the previous sprint's
retrospective, whose action the current sprint's retrospective follows up. Idempotent."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from sprintplan import derived
from sprints.models import Sprint
from teams.models import Team

from . import services
from .models import BlockedSpell, RetroItem

PREVIOUS_NOTES = [
    (RetroItem.Kind.WENT_WELL, "LAB", "Labeling throughput was steady at ~200 images a day", None),
    (
        RetroItem.Kind.TO_IMPROVE,
        "ML",
        "Training started late: the pipeline was set up mid-sprint",
        None,
    ),
    (RetroItem.Kind.ACTION, "ML", "Set up the retraining pipeline in the first two days", "maya"),
]


@transaction.atomic
def load_ceremonies_demo(*, sprint: Sprint, previous: Sprint | None) -> None:
    _blocked_history(sprint)
    if previous is not None:
        _previous_retro(previous)


def _blocked_history(sprint: Sprint) -> None:
    """Bring the insights and the blocked spells up to date now (they would follow after
    the demo's commit), then date the spells that began at planning on the planning day."""
    if BlockedSpell.objects.filter(ticket__sprint=sprint).exists():
        return
    derived.run("insights")
    services.blocked_spells_run(full=True)
    planning_day = sprint.start_date - timedelta(days=3 if sprint.start_date.weekday() == 0 else 1)
    when = timezone.make_aware(datetime.combine(planning_day, time(10, 0)))
    BlockedSpell.objects.filter(ticket__sprint=sprint, ended_at__isnull=True).update(
        started_at=when
    )


def _previous_retro(previous: Sprint) -> None:
    if RetroItem.objects.filter(sprint=previous).exists():
        return
    people = {u.username: u for u in User.objects.filter(username__in=["sam", "maya"])}
    teams = {t.key_prefix: t for t in Team.objects.filter(key_prefix__in=["LAB", "ML"])}
    for kind, team, text, owner in PREVIOUS_NOTES:
        RetroItem.objects.create(
            sprint=previous,
            kind=kind,
            team=teams.get(team),
            text=text,
            owner=people.get(owner) if owner else None,
            created_by=people.get("sam"),
        )
