"""Scenario 2 of the product brief: a mid-sprint labeling bottleneck, on fixed dates."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone

from dependencies.services import link_create
from planning import capacity, services
from planning.models import SprintGoal
from tickets.models import TicketEvent

from ..factories import SprintFactory, TicketFactory

SPRINT_START = date(2026, 11, 9)  # Monday
SPRINT_END = date(2026, 11, 27)  # Friday three weeks later: 15 working days
TODAY = date(2026, 11, 16)  # Monday of week 2: 10 working days left
TUESDAY = date(2026, 11, 17)

# Units finished per working day, repeated over the 30 working days before TODAY (zero days
# included): labeling ~90 images/day, ML ~2.6 points/day, QA ~1.8 points/day.
LAB_DAYS = (80, 120, 100, 0, 110, 90, 130, 70, 100, 100)
ML_DAYS = (3, 2, 4, 0, 3, 3, 2, 4, 3, 2)
QA_DAYS = (2, 2, 3, 0, 2, 1, 3, 2, 2, 1)


@pytest.fixture
def pinned_today(monkeypatch):
    monkeypatch.setattr(services, "forecast_today", lambda: TODAY)
    return TODAY


def record_history(team, per_day, days, actor=None) -> None:
    """Progress events of one long ticket of the team, one per day with work."""
    ticket = TicketFactory(team=team, size=Decimal("100000"), status="in_progress")
    done = 0
    events = []
    for day, units in zip(days, per_day, strict=True):
        if units:
            events.append(
                TicketEvent(
                    ticket=ticket,
                    actor=actor,
                    field="progress",
                    old_value=str(done),
                    new_value=str(done + units),
                    at=timezone.make_aware(datetime.combine(day, time(15, 0))),
                )
            )
            done += units
    TicketEvent.objects.bulk_create(events)


@pytest.fixture
def bottleneck(scenario, pinned_today):
    """The image-classifier sprint at mid-sprint: history recorded, chain linked, one goal."""
    sm = scenario.users["sm"]
    sprint = SprintFactory(name="Sprint 15 · Class X", start_date=SPRINT_START, end_date=SPRINT_END)
    window = capacity.previous_working_days(TODAY, 30)
    for team, pattern in ((scenario.lab, LAB_DAYS), (scenario.ml, ML_DAYS), (scenario.qa, QA_DAYS)):
        record_history(team, pattern * 3, window)

    def ticket(team, title, size, rank, progress=0):
        return TicketFactory(
            team=team,
            title=title,
            size=Decimal(size),
            progress=Decimal(progress),
            rank=rank,
            sprint=sprint,
            status="in_progress" if progress else "todo",
        )

    tickets = {
        "low_light": ticket(scenario.lab, "Label 200 low-light images", 200, 1),
        "label": ticket(scenario.lab, "Label 1000 images for Class X", 1000, 2, progress=750),
        "pipeline": ticket(scenario.ml, "Set up retraining pipeline", 2, 1),
        "train": ticket(scenario.ml, "Train v1.1 model", 4, 2),
        "test_set": ticket(scenario.qa, "Create Class X test set", 2, 1),
        "validate": ticket(scenario.qa, "Run accuracy validation suite", 2, 2),
    }
    for blocker, blocked in [
        ("label", "train"),
        ("pipeline", "train"),
        ("train", "validate"),
        ("test_set", "validate"),
    ]:
        link_create(actor=sm, blocker=tickets[blocker], blocked=tickets[blocked])
    goal = SprintGoal.objects.create(
        sprint=sprint, text="v1.1 classifier identifies Class X with > 90% accuracy"
    )
    goal.tickets.set([t for name, t in tickets.items() if name != "low_light"])
    return type("Bottleneck", (), {"sprint": sprint, "tickets": tickets, "goal": goal})
