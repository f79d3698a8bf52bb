"""A labeling -> ML -> QA chain of features on the shared program fixture, with the
forecast's day 0 pinned to the PI's first day and fewer trials (fast, same rules)."""

from decimal import Decimal

import pytest

from dependencies.services import link_create
from programs.services import board as board_services
from tests.factories import TicketFactory
from tests.programs.conftest import PI_START


@pytest.fixture
def pinned_today(monkeypatch, settings):
    settings.FORECAST_TRIALS = 2000
    monkeypatch.setattr(board_services, "forecast_today", lambda: PI_START)
    return PI_START


@pytest.fixture
def chain(program, pinned_today):
    """LAB feature (planned I1) -> ML feature (planned I2, for the release) -> QA feature
    (planned I3, for the release); one ticket each, linked blocker -> blocked."""
    sm = program.users["sm"]
    i1, i2, i3 = program.sprints
    label = TicketFactory(
        team=program.lab, title="Label 400 images", size=Decimal(400), sprint=i1, rank=1
    )
    train = TicketFactory(
        team=program.ml, title="Retrain model", size=Decimal(5), sprint=i2, rank=1
    )
    validate = TicketFactory(
        team=program.qa, title="Validate model", size=Decimal(2), sprint=i3, rank=1
    )
    link_create(actor=sm, blocker=label, blocked=train)
    link_create(actor=sm, blocker=train, blocked=validate)
    lab = board_services.feature_create(
        actor=sm,
        pi=program.pi,
        team=program.lab,
        title="Labeled batch",
        planned_sprint=i1,
        ticket_keys=[label.key],
    )
    ml = board_services.feature_create(
        actor=sm,
        pi=program.pi,
        team=program.ml,
        title="Retrained recommender",
        planned_sprint=i2,
        milestone=program.release,
        ticket_keys=[train.key],
    )
    qa = board_services.feature_create(
        actor=sm,
        pi=program.pi,
        team=program.qa,
        title="Validated release",
        planned_sprint=i3,
        milestone=program.release,
        ticket_keys=[validate.key],
    )
    return type(
        "Chain",
        (),
        {
            "tickets": {"label": label, "train": train, "validate": validate},
            "features": {"lab": lab, "ml": ml, "qa": qa},
        },
    )
