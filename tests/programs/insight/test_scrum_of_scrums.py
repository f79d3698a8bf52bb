"""The Scrum of Scrums view: cross-team blockers by link health, root blockers by what waits
on them, risks due for review, objectives at risk, milestone outlook."""

from datetime import date, timedelta

from programs.models import Objective, ProgramRisk
from programs.selectors.insight import scrum_of_scrums

from .conftest import feature, forecast_run, link, make_ticket

TODAY = date(2027, 1, 20)


def test_a_red_cross_team_link_appears_with_its_reason_and_same_team_links_do_not(program, chain):
    sos = scrum_of_scrums(program.pi, TODAY)
    assert [(b.blocker.key, b.blocked.key, b.health) for b in sos.blockers] == [
        (chain.lab1.key, chain.ml1.key, "red")
    ]
    assert "planned in I3, after" in sos.blockers[0].reason
    assert sos.red_count == 1


def test_an_orange_cross_team_link_is_listed_after_the_red_ones(program, chain):
    qa2 = make_ticket(program.qa, program.sprints[0], title="Test data for ranker")
    link(chain.ml2, qa2)  # same sprint I1, two teams: orange
    sos = scrum_of_scrums(program.pi, TODAY)
    assert [b.health for b in sos.blockers] == ["red", "orange"]
    assert sos.blockers[1].reason.startswith("Same sprint (I1)")


def test_an_unplanned_blocker_is_red_and_said_to_be_unplanned(program, chain):
    backlog = make_ticket(program.lab, None, title="Label cold-start items")
    link(backlog, chain.qa1)
    sos = scrum_of_scrums(program.pi, TODAY)
    unplanned = [b for b in sos.blockers if b.blocker.key == backlog.key]
    assert unplanned[0].health == "red"
    assert "not planned in any sprint" in unplanned[0].reason


def test_root_blockers_are_ranked_by_downstream_count(program, chain):
    sos = scrum_of_scrums(program.pi, TODAY)
    assert [(r.ticket.key, r.downstream_count) for r in sos.roots] == [
        (chain.lab1.key, 2),
        (chain.ml2.key, 1),
    ]
    assert sos.roots[0].waiting == tuple(sorted([chain.ml1.key, chain.qa1.key]))
    assert sos.roots[0].waiting_teams == ("ML Engineering", "QA")


def test_a_done_blocker_is_neither_red_nor_a_root_and_the_next_ticket_becomes_root(program, chain):
    from dependencies.services import insights_recompute
    from tickets.models import Ticket

    Ticket.objects.filter(pk=chain.lab1.pk).update(status="done")
    insights_recompute(full=True)
    sos = scrum_of_scrums(program.pi, TODAY)
    assert sos.blockers == []
    # ML-1 now heads QA-1's chain itself.
    assert [(r.ticket.key, r.downstream_count) for r in sos.roots] == [
        (chain.ml1.key, 1),
        (chain.ml2.key, 1),
    ]


def test_a_risk_due_in_3_days_appears_and_one_due_in_10_days_does_not(program):
    owner = program.users["ml_lead"]

    def risk(title, days, state=ProgramRisk.State.OWNED):
        return ProgramRisk.objects.create(
            pi=program.pi,
            title=title,
            state=state,
            owner=owner,
            follow_up=TODAY + timedelta(days=days),
        )

    risk("Annotation vendor slows down", 3)
    risk("GPU quota runs out", 10)
    risk("Cold-start data is biased", 2, ProgramRisk.State.RESOLVED)
    risk("Release freeze moves", -1)
    sos = scrum_of_scrums(program.pi, TODAY)
    assert [(due.risk.title, due.when) for due in sos.risks_due] == [
        ("Release freeze moves", "overdue by 1 day"),
        ("Annotation vendor slows down", "due in 3 days"),
    ]


def test_objectives_at_risk_follow_the_stated_rule(program):
    pi, release = program.pi, program.release
    _i1, i2, i3 = program.sprints
    slow = feature(pi, program.ml, "Ranker v2", planned_sprint=i2)
    late = feature(pi, program.lab, "Session labels", planned_sprint=i3, milestone=release)
    fine = feature(pi, program.qa, "Integration suite", planned_sprint=i3, milestone=release)
    forecast_run(
        pi,
        features={
            str(slow.id): {
                "p50": None,
                "p85": None,
                "p95": None,
                "p85_sprint_id": None,
                "p_by_planned": 0.3,
                "p_by_milestone": None,
            },
            str(late.id): {
                "p50": None,
                "p95": None,
                "p85_sprint_id": None,
                "p85": (release.date + timedelta(days=4)).isoformat(),
                "p_by_planned": 0.7,
                "p_by_milestone": 0.6,
            },
            str(fine.id): {
                "p50": None,
                "p95": None,
                "p85_sprint_id": None,
                "p85": release.date.isoformat(),
                "p_by_planned": 0.9,
                "p_by_milestone": 0.9,
            },
        },
        milestones={str(release.id): {"p_met": 0.42, "bottleneck_team_id": program.lab.id}},
    )

    def objective(team, title, features, committed=True):
        created = Objective.objects.create(
            pi=pi, team=team, title=title, committed=committed, planned_value=8
        )
        created.features.set(features)

    objective(program.ml, "Ship ranker v2", [slow])
    objective(program.lab, "Label all sessions", [late])
    objective(program.qa, "Automate integration QA", [fine])
    objective(program.ml, "Stretch: try a bandit", [slow], committed=False)

    sos = scrum_of_scrums(pi, TODAY)
    flagged = {item.objective.title: item.reasons for item in sos.objectives_at_risk}
    assert set(flagged) == {"Ship ranker v2", "Label all sessions"}
    assert "30% chance to finish by RE I2" in flagged["Ship ranker v2"][0]
    assert "is after Platform release" in flagged["Label all sessions"][0]
    assert sos.committed_objectives == 3
    (outlook,) = sos.milestones
    assert (outlook.percent, outlook.words, outlook.bottleneck_team) == (
        42,
        "at risk",  # the one vocabulary: below 50%
        "Data Labeling",
    )


def test_without_a_forecast_nothing_is_judged_and_milestones_say_so(program):
    sos = scrum_of_scrums(program.pi, TODAY)
    assert sos.forecast_at is None
    assert sos.objectives_at_risk == []
    assert [(m.milestone.name, m.p_met) for m in sos.milestones] == [("Platform release", None)]
