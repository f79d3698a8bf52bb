"""Links are refused when they would be wrong, and every change reaches the derived insight."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies import services
from dependencies.models import DependencyLink, TicketInsight
from dependencies.services import insights_recompute, link_create, link_delete
from sprintplan import derived
from sprintplan.errors import Conflict, InvalidInput, PermissionDenied
from sprintplan.models import DerivedChange
from tickets.models import TicketEvent
from tickets.services import ticket_update

from ..factories import TicketFactory


@pytest.fixture
def chain(scenario):
    """LAB-1 → ML-1 → QA-1, the seed's labeling → training → validation chain."""
    lab = TicketFactory(team=scenario.lab, size=1000, status="in_progress")
    train = TicketFactory(team=scenario.ml)
    validate = TicketFactory(team=scenario.qa)
    sm = scenario.users["sm"]
    link_create(actor=sm, blocker=lab, blocked=train)
    link_create(actor=sm, blocker=train, blocked=validate)
    return lab, train, validate


def insight(ticket) -> TicketInsight:
    return TicketInsight.objects.get(ticket=ticket)


def test_cycle_is_refused_with_the_cycle_named_in_order(scenario, chain):
    lab, _, validate = chain
    with pytest.raises(InvalidInput) as error:
        link_create(actor=scenario.users["sm"], blocker=validate, blocked=lab)
    assert error.value.code == "cycle"
    assert error.value.extra["cycle"] == ["QA-1", "LAB-1", "ML-1", "QA-1"]
    assert "QA-1 → LAB-1 → ML-1 → QA-1" in error.value.message
    assert DependencyLink.objects.count() == 2


def test_self_link_is_refused(scenario):
    ticket = TicketFactory(team=scenario.ml)
    with pytest.raises(InvalidInput) as error:
        link_create(actor=scenario.users["sm"], blocker=ticket, blocked=ticket)
    assert error.value.code == "self_link"
    assert not DependencyLink.objects.exists()


def test_duplicate_link_is_refused_as_a_conflict(scenario, chain):
    lab, train, _ = chain
    with pytest.raises(Conflict) as error:
        link_create(actor=scenario.users["sm"], blocker=lab, blocked=train)
    assert error.value.code == "duplicate_link"
    assert DependencyLink.objects.count() == 2


def test_member_may_not_link_but_a_lead_of_either_team_may(scenario):
    lab = TicketFactory(team=scenario.lab)
    train = TicketFactory(team=scenario.ml)
    with pytest.raises(PermissionDenied):
        link_create(actor=scenario.users["lab_member"], blocker=lab, blocked=train)
    with pytest.raises(PermissionDenied):
        link_create(actor=scenario.users["qa_lead"], blocker=lab, blocked=train)
    link_create(actor=scenario.users["ml_lead"], blocker=lab, blocked=train)
    assert DependencyLink.objects.count() == 1


def test_link_changes_are_recorded_in_both_tickets_history(scenario):
    lab = TicketFactory(team=scenario.lab)
    train = TicketFactory(team=scenario.ml)
    link = link_create(actor=scenario.users["sm"], blocker=lab, blocked=train)
    link_delete(actor=scenario.users["sm"], link=link)
    history = sorted(
        TicketEvent.objects.values_list("ticket__key", "field", "old_value", "new_value")
    )
    assert history == [
        ("LAB-1", "blocks", "", "ML-1"),
        ("LAB-1", "blocks", "ML-1", ""),
        ("ML-1", "blocked_by", "", "LAB-1"),
        ("ML-1", "blocked_by", "LAB-1", ""),
    ]


def test_downstream_is_blocked_transitively_by_an_unfinished_ticket(
    scenario, chain, django_capture_on_commit_callbacks
):
    lab, train, validate = chain
    with django_capture_on_commit_callbacks(execute=True):
        derived.request("insights")
    assert insight(train).blocked and insight(validate).blocked
    assert insight(validate).root_blocker_ids == [lab.pk]
    assert not insight(lab).blocked


def test_finishing_the_root_unblocks_the_next_ticket_only(
    scenario, chain, django_capture_on_commit_callbacks
):
    lab, train, validate = chain
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(
            ticket=lab,
            actor=scenario.users["lab_lead"],
            changes={"status": "done"},
            expected_version=lab.version,
        )
    assert not insight(train).blocked
    assert insight(validate).blocked
    assert insight(validate).direct_blocker_ids == [train.pk]


def test_removing_a_link_unblocks(scenario, chain, django_capture_on_commit_callbacks):
    _, train, validate = chain
    with django_capture_on_commit_callbacks(execute=True):
        link_delete(actor=scenario.users["sm"], link=DependencyLink.objects.get(blocked=validate))
    assert not insight(validate).blocked
    assert insight(train).blocked


def test_every_change_leaves_a_durable_marker_until_a_recompute_consumes_it(scenario, chain):
    lab, *_ = chain  # captured on_commit callbacks never ran: no recompute yet
    assert DerivedChange.objects.filter(kind="insights").count() == 4
    report = insights_recompute()
    assert report.changes_consumed == 4
    assert not DerivedChange.objects.filter(kind="insights").exists()
    assert insight(lab).graph_version == report.graph_version


def test_a_failed_recompute_loses_no_change_and_the_next_one_catches_up(
    scenario, chain, monkeypatch, django_capture_on_commit_callbacks
):
    lab, train, _ = chain
    insights_recompute()

    def broken(*args, **kwargs):
        raise RuntimeError("worker crashed")

    # The write is the last step of both the region and the whole-graph path.
    monkeypatch.setattr(services, "_write_insights", broken)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(
            ticket=lab,
            actor=scenario.users["lab_lead"],
            changes={"status": "done"},
            expected_version=lab.version,
        )
    lab.refresh_from_db()
    assert lab.status == "done"  # the change committed although the recompute failed
    assert DerivedChange.objects.filter(kind="insights", object_id=lab.pk).exists()
    assert insight(train).blocked  # stale, and known to be stale
    monkeypatch.undo()
    insights_recompute()
    assert not insight(train).blocked
    assert not DerivedChange.objects.filter(kind="insights").exists()


def test_recompute_is_idempotent_and_full_equals_incremental(scenario, chain):
    insights_recompute()
    stored = list(TicketInsight.objects.order_by("pk").values())
    assert insights_recompute().rows_written == 0
    assert insights_recompute(full=True).rows_written == 0
    assert list(TicketInsight.objects.order_by("pk").values()) == stored


def _recompute_queries(count: int) -> int:
    for _ in range(count):
        TicketFactory(team=TicketFactory().team)
    derived.changed("ticket", [1])
    with CaptureQueriesContext(connection) as captured:
        insights_recompute(full=True)
    return len(captured.captured_queries)


def test_recompute_reads_and_writes_in_a_constant_number_of_queries(scenario):
    _recompute_queries(0)  # the first run ever also creates the state row
    small = _recompute_queries(3)
    large = _recompute_queries(30)  # ten times the tickets (and teams)
    # savepoint + release, markers, tickets (team, status), links, stored insights, upsert,
    # delete markers, state update; PostgreSQL takes the graph lock (one more) and deletes
    # the markers in the statement that records the run (one less).
    assert small == large == 9


def test_management_command_repairs_drift_with_a_full_recompute(scenario, chain):
    from django.core.management import call_command

    _, train, _ = chain
    insights_recompute()
    TicketInsight.objects.filter(ticket=train).update(blocked=False)  # drift
    output = io.StringIO()
    call_command("recompute_insights", "--full", stdout=output)
    assert "full recompute: 0 pending changes consumed, 1 insights written" in output.getvalue()
    assert insight(train).blocked


def test_the_admin_cannot_add_change_or_delete_links(scenario, chain, rf):
    """A link written in the admin would bypass the cycle check, the permissions, the history
    and the recompute's change markers: the admin only lists links."""
    from django.contrib.admin.sites import site

    from accounts.models import User

    link_admin = site._registry[DependencyLink]
    request = rf.get("/admin/dependencies/dependencylink/")
    request.user = User.objects.create_superuser("root", "root@example.com", "not-a-secret-1")
    link = DependencyLink.objects.first()
    assert link_admin.has_view_permission(request, link)
    assert not link_admin.has_add_permission(request)
    assert not link_admin.has_change_permission(request, link)
    assert not link_admin.has_delete_permission(request, link)
