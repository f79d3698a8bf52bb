"""The PI forecast: the stored format, recomputed on commit after ticket, link, capacity
and planning changes (durable markers, idempotent runs), the slipped labeling ticket, and
the run history kept small."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from planning import services as planning_services
from programs.models import ProgramForecastRun
from programs.selectors import board as selectors
from programs.services import board as services
from sprintplan import derived
from sprintplan.models import DerivedChange
from sprintplan.tasks import recompute_derived
from tests.factories import SprintFactory
from tickets.services import ticket_update


def _recompute():
    services.pi_forecasts_recompute(full=True)
    return ProgramForecastRun.objects.order_by("-id").first()


def test_the_stored_result_has_exactly_the_agreed_format(program, chain):
    run = _recompute()
    result = run.result
    assert set(result) == {"features", "milestones", "low_confidence_team_ids", "tickets"}
    lab, ml = chain.features["lab"], chain.features["ml"]
    assert set(result["features"]) == {str(f.pk) for f in chain.features.values()}
    assert set(result["features"][str(ml.pk)]) == {
        "p50", "p85", "p95", "p85_sprint_id", "p_by_planned", "p_by_milestone",
    }  # fmt: skip
    assert result["features"][str(lab.pk)]["p_by_milestone"] is None  # no milestone
    assert result["features"][str(lab.pk)]["p85_sprint_id"] == program.sprints[0].pk
    assert set(result["milestones"][str(program.release.pk)]) == {"p_met", "bottleneck_team_id"}
    # Every unfinished ticket of the features with its own P85 date (for the board's lines).
    from programs.models import FeatureTicket

    open_ids = set(
        FeatureTicket.objects.filter(feature__pi=program.pi)
        .exclude(ticket__status="done")
        .values_list("ticket_id", flat=True)
    )
    assert {int(key) for key in result["tickets"]} >= open_ids
    assert all(v is None or len(v) == 10 for v in result["tickets"].values())
    # No throughput history in the fixture: every team is sampled from its plan.
    assert result["low_confidence_team_ids"] == sorted(
        [program.lab.pk, program.ml.pk, program.qa.pk]
    )


def test_the_same_inputs_store_no_new_run(program, chain):
    _recompute()
    assert services.pi_forecasts_recompute(full=True).runs_created == 0
    assert ProgramForecastRun.objects.count() == 1


def test_a_slipped_labeling_ticket_turns_the_line_red_and_moves_the_forecast_past_the_milestone(
    program, chain, django_capture_on_commit_callbacks
):
    before_run = _recompute()
    lab, ml = chain.features["lab"], chain.features["ml"]
    before = selectors.pi_board(program.pi)
    (lab_to_ml,) = [d for d in before.dependencies if d.provider.id == lab.pk]
    assert lab_to_ml.health == "green"
    ml_before = before_run.result["features"][str(ml.pk)]
    assert ml_before["p85"] <= program.release.date.isoformat()
    p_met_before = before_run.result["milestones"][str(program.release.pk)]["p_met"]

    label = chain.tickets["label"]
    with django_capture_on_commit_callbacks(execute=True):  # 400 -> 3000 images
        ticket_update(
            ticket=label,
            actor=program.users["lab_lead"],
            changes={"size": Decimal(3000)},
            expected_version=label.version,
        )

    after_run = ProgramForecastRun.objects.order_by("-id").first()
    assert after_run.pk != before_run.pk  # recomputed on commit, in process
    assert not DerivedChange.objects.filter(kind="pi_forecast").exists()
    after = selectors.pi_board(program.pi)
    (lab_to_ml,) = [d for d in after.dependencies if d.provider.id == lab.pk]
    assert lab_to_ml.health == "red"
    assert lab_to_ml.provider.column_index > lab_to_ml.consumer.planned_index
    ml_row = next(f for f in after.features if f.id == ml.pk)
    assert ml_row.past_milestone
    ml_after = after_run.result["features"][str(ml.pk)]
    assert ml_after["p85"] is None or ml_after["p85"] > program.release.date.isoformat()
    assert after_run.result["milestones"][str(program.release.pk)]["p_met"] < p_met_before


def test_halving_the_labeling_team_marks_the_pi_forecast_stale_and_recomputes_it(
    program, chain, django_capture_on_commit_callbacks
):
    label = chain.tickets["label"]
    ticket_update(
        ticket=label,
        actor=program.users["lab_lead"],
        changes={"size": Decimal(900)},
        expected_version=label.version,
    )
    before = _recompute().result["features"][str(chain.features["lab"].pk)]
    with django_capture_on_commit_callbacks(execute=True):
        planning_services.adjustment_create(
            actor=program.users["lab_lead"],
            sprint=program.sprints[0],
            team=program.lab,
            from_date=program.sprints[0].start_date,
            to_date=program.sprints[0].end_date,
            factor=Decimal("0.5"),
            reason="annotation tool bug",
        )
    after = ProgramForecastRun.objects.order_by("-id").first().result
    after = after["features"][str(chain.features["lab"].pk)]
    assert after["p85"] > before["p85"]
    assert after["p_by_planned"] < before["p_by_planned"]


def test_a_sprint_outside_every_pi_leaves_pi_forecasts_alone(program, chain):
    outside = SprintFactory(name="outside")
    DerivedChange.objects.filter(kind="pi_forecast").all().delete()
    derived.changed("sprint", [outside.pk])
    assert not DerivedChange.objects.filter(kind="pi_forecast").exists()
    derived.changed("sprint", [program.sprints[1].pk])
    assert list(
        DerivedChange.objects.filter(kind="pi_forecast").values_list("object_id", flat=True)
    ) == [program.pi.pk]


def test_the_task_consumes_the_markers_and_is_idempotent(program, chain):
    assert DerivedChange.objects.filter(kind="pi_forecast").exists()
    recompute_derived.run("pi_forecast")
    recompute_derived.run("pi_forecast")
    assert not DerivedChange.objects.filter(kind="pi_forecast").exists()
    assert ProgramForecastRun.objects.count() == 1


def test_a_failing_pi_keeps_its_marker_for_the_next_run(program, chain, monkeypatch):
    from programs import pi_forecast_adapter

    def broken(*args, **kwargs):
        raise RuntimeError("bad data")

    monkeypatch.setattr(pi_forecast_adapter, "compute", broken)
    report = services.pi_forecasts_recompute()
    assert report.failed == 1
    assert list(
        DerivedChange.objects.filter(kind="pi_forecast").values_list("object_id", flat=True)
    ) == [program.pi.pk]


def test_runs_older_than_a_day_are_thinned_to_one_per_hour(program, chain):
    run = _recompute()
    now = timezone.now()
    base = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    old = [
        ProgramForecastRun.objects.create(
            pi=program.pi,
            inputs_version=f"v{i}",
            seed=1,
            trials=1,
            duration_ms=1,
            result={},
            computed_at=base + timedelta(minutes=10 * i),
        )
        for i in range(9)  # 00:00 .. 01:20: two hours
    ]
    recent = ProgramForecastRun.objects.create(
        pi=program.pi,
        inputs_version="recent",
        seed=1,
        trials=1,
        duration_ms=1,
        result={},
        computed_at=now - timedelta(minutes=5),
    )
    services._prune_runs(program.pi, now)
    kept = set(ProgramForecastRun.objects.values_list("id", flat=True))
    assert kept == {run.pk, recent.pk, old[5].pk, old[8].pk}  # newest of each old hour


def test_a_dependency_is_judged_by_the_provider_tickets_that_block_the_consumer(program, chain):
    # The labeling feature grows a second, late batch (planned I3) that nothing needs; the
    # feature as a whole now ends in I3, after the ML feature's I2, but the batch the ML
    # ticket waits on is still planned and forecast in I1: the line stays green.
    from tests.factories import TicketFactory

    late_batch = TicketFactory(
        team=program.lab, title="Label the long tail", size=Decimal(100), sprint=program.sprints[2]
    )
    lab = chain.features["lab"]
    services.feature_tickets_attach(actor=program.users["sm"], feature=lab, keys=[late_batch.key])
    services.feature_move(
        actor=program.users["sm"],
        feature=lab,
        planned_sprint=program.sprints[2],
        expected_version=lab.version,
    )
    _recompute()
    deps = {
        (d.provider.title, d.consumer.title): d for d in selectors.pi_board(program.pi).dependencies
    }
    line = deps[("Labeled batch", "Retrained recommender")]
    assert line.health == "green"
    assert line.reason.endswith(f"(via {chain.tickets['label'].key})")


def test_the_stored_result_reads_back_as_typed_records_without_loss(program, chain):
    """The board and reviews read `run.forecast` (typed); written back it is exactly the
    stored JSON, so the API and the pages cannot disagree."""
    run = _recompute()
    forecast = run.forecast
    assert forecast.to_json() == run.result
    ml = chain.features["ml"]
    assert forecast.features[ml.pk].p85 is None or forecast.features[ml.pk].p85.year >= 2000
    assert (
        forecast.milestone(program.release.pk).p_met
        == run.result["milestones"][str(program.release.pk)]["p_met"]
    )
    assert forecast.milestone(-1).p_met is None  # unknown to the run: no figure, not 0 %


def test_a_run_stored_before_ticket_dates_reads_as_without_them():
    from programs.pi_forecast_result import PIForecast

    old = PIForecast.from_json({"features": {}, "milestones": {"3": {"p_met": 0.5}}})
    assert old.tickets is None  # the board then judges dependencies by the whole feature
    assert old.milestone(3).p_met == 0.5 and old.milestone(3).bottleneck_team_id is None
