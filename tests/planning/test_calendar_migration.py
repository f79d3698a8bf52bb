"""Capacity changes moved from "a sprint's" to "a team's, by date": migrating keeps every
recorded change, with the sprint where it was raised as a note."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("planning", "0006_derived_change_markers")]
AFTER = [("planning", "0007_capacity_calendar")]


@pytest.mark.django_db(transaction=True)
def test_migrating_keeps_every_capacity_change_row():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    team = old.get_model("teams", "Team").objects.create(name="Labeling", key_prefix="LAB")
    sprint = old.get_model("sprints", "Sprint").objects.create(
        name="Sprint 14", start_date=date(2026, 11, 16), end_date=date(2026, 11, 27)
    )
    adjustment = old.get_model("planning", "CapacityAdjustment")
    rows = [
        adjustment.objects.create(
            sprint=sprint,
            team=team,
            from_date=date(2026, 11, 16 + n),
            to_date=date(2026, 11, 27),
            factor="0.5",
            reason=f"change {n}",
        ).pk
        for n in range(3)
    ]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    kept = new.get_model("planning", "CapacityAdjustment").objects.order_by("pk")
    assert list(kept.values_list("pk", "sprint_id", "team_id", "reason")) == [
        (pk, sprint.pk, team.pk, f"change {n}") for n, pk in enumerate(rows)
    ]
    # back to the latest state for the rest of the suite
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
