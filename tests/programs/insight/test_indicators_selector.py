"""Leading indicators read from the database: throughput from ticket history, metric
convergence from MLflow evidence, defect escape from feature tickets, P(milestone) runs."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from programs.selectors.insight import leading_indicators
from quality.models import Criterion, Evidence
from tickets.models import Ticket, TicketEvent

from .conftest import feature, forecast_run, make_ticket

TODAY = date(2027, 1, 20)  # Wednesday of the PI's third week


def at(day: date, hour: int = 15) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def progress(ticket, day: date, old: int, new: int):
    TicketEvent.objects.create(
        ticket=ticket, at=at(day), field="progress", old_value=str(old), new_value=str(new)
    )


def test_labeling_throughput_counts_progress_per_working_day_with_zero_days(program):
    batch = make_ticket(program.lab, program.sprints[0], size=Decimal(1000), type="labeling_batch")
    progress(batch, date(2027, 1, 4), 0, 200)
    progress(batch, date(2027, 1, 5), 200, 350)
    progress(batch, date(2027, 1, 9), 350, 400)  # a Saturday: counts on Friday the 8th
    progress(batch, date(2027, 1, 20), 400, 900)  # today is not over: not counted yet
    ml = make_ticket(program.ml, program.sprints[0])
    progress(ml, date(2027, 1, 4), 0, 3)  # not a labeling team

    throughput = leading_indicators(program.pi, TODAY).throughput
    (row,) = throughput.rows
    assert row.team == program.lab
    assert len(throughput.days) == 12  # Jan 4 .. Jan 19, working days
    assert row.throughput.units[:5] == (200, 150, 0, 0, 50)
    assert row.throughput.total == 400
    assert row.throughput.zero_days == 9
    assert throughput.chart is not None


def test_metric_convergence_reads_mlflow_evidence_in_run_order(program):
    run = make_ticket(program.ml, program.sprints[1], type="training_run")
    criterion = Criterion.objects.create(
        ticket=run,
        code="ndcg",
        team=program.ml,
        text="NDCG@10 ≥ 0.40",
        kind="metric",
        metric_key="ndcg_at_10",
        comparator=">=",
        threshold=Decimal("0.40"),
    )
    values = ["0.31", "0.37", "0.398", "0.401", "0.402"]
    for number, value in enumerate(values):
        Evidence.objects.create(
            criterion=criterion,
            ticket=run,
            value=Decimal(value),
            passed=Decimal(value) >= 0.4,
            source="mlflow",
            recorded_by_name="MLflow",
            details={"run_id": f"abcdef12{number}"},
            recorded_at=at(date(2027, 1, 5 + number)),
        )
    Evidence.objects.create(  # manual evidence is not a run
        criterion=criterion,
        ticket=run,
        value=Decimal("0.2"),
        passed=False,
        source="manual",
        recorded_by_name="ml_lead",
        recorded_at=at(date(2027, 1, 12)),
    )
    (trend,) = leading_indicators(program.pi, TODAY).metrics
    assert [r.value for r in trend.runs] == [float(v) for v in values]
    assert trend.runs[0].label == "abcdef12"
    assert trend.convergence.converged  # last 3: 0.398..0.402, spread 0.004 < 0.005
    assert trend.threshold_text == "≥ 0.4"


def test_defect_escape_counts_bugs_found_after_their_feature_was_done(program):
    i1, i2, _ = program.sprints
    work = make_ticket(program.ml, i1, status="done")
    TicketEvent.objects.create(
        ticket=work,
        at=at(date(2027, 1, 12)),
        field="status",
        old_value="in_progress",
        new_value="done",
    )
    early_bug = make_ticket(program.ml, i1, type="bug")
    late_bug = make_ticket(program.ml, i2, type="bug", title="Ranker crashes on empty history")
    Ticket.objects.filter(pk=early_bug.pk).update(created_at=at(date(2027, 1, 8)))
    Ticket.objects.filter(pk=late_bug.pk).update(created_at=at(date(2027, 1, 19)))
    feature(program.pi, program.ml, "Ranker v2", tickets=[work, early_bug, late_bug])

    escape = leading_indicators(program.pi, TODAY).escape
    assert (escape.overall.escaped, escape.overall.total, escape.overall.rate) == (1, 2, 0.5)
    assert [bug.key for bug in escape.escaped] == [late_bug.key]
    # As of I1's end (Jan 15) one bug was known and none had escaped; by today, 1 of 2.
    assert [(p.label, p.escape.escaped, p.escape.total) for p in escape.points] == [
        ("I1", 0, 1),
        ("I2", 1, 2),
    ]


def test_p_milestone_met_is_charted_across_runs_oldest_first(program):
    release = program.release
    for minutes_ago, p in [(300, 0.8), (200, 0.6), (100, 0.45)]:
        forecast_run(
            program.pi,
            milestones={str(release.id): {"p_met": p, "bottleneck_team_id": None}},
            minutes_ago=minutes_ago,
        )
    trend = leading_indicators(program.pi, TODAY).milestones
    assert [point.values for point in trend.points] == [[0.8], [0.6], [0.45]]
    assert trend.chart.lines[0].end_label == "45%"


def test_an_empty_pi_has_empty_indicators_not_errors(program):
    indicators = leading_indicators(program.pi, program.pi.start_date - timedelta(days=3))
    assert indicators.throughput.chart is None
    assert indicators.metrics == []
    assert indicators.escape.overall.total == 0 and indicators.escape.chart is None
    assert indicators.milestones.chart is None
