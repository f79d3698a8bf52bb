"""The worker's mirror of the graph (dependencies.mirror): status changes recomputed from it
end equal to a recompute from scratch, and it is never used once the database has moved
without it (another process's recompute, a rolled-back run, a link written anywhere)."""

import logging
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies import graph, selectors, services, tasks
from dependencies.mirror import GraphMirror
from dependencies.models import DependencyLink, RecomputeState, TicketInsight
from dependencies.services import insights_recompute, link_create
from sprintplan.models import DerivedChange
from tickets.models import Ticket

from ..factories import TicketFactory
from .test_recompute_region import (
    RandomBacklog,
    build_chains,
    from_scratch,
    set_status,
    stored_done_matches_the_tickets,
)


@pytest.fixture
def keeper(monkeypatch):
    """This process keeps a mirror (as the Celery worker does), rebuilt whenever missing."""
    monkeypatch.setattr(services, "_MIRROR", services._MirrorKeeper())
    monkeypatch.setattr(services, "MIRROR_REBUILD_INTERVAL_S", 0.0)
    services.enable_mirror()
    return services._MIRROR


@pytest.fixture
def recompute(django_capture_on_commit_callbacks):
    """What the worker's task does, committed: insights_recompute, then the mirror rebuilt
    if the run could not use it. The mirror follows a run only once it commits (the test's
    own transaction never does)."""

    def run(**kwargs) -> services.RecomputeReport:
        with django_capture_on_commit_callbacks(execute=True):
            report = insights_recompute(**kwargs)
        services.rebuild_mirror_if_due()
        return report

    return run


@pytest.fixture
def builds(monkeypatch):
    """Every mirror built from scratch (a rebuild, or a full recompute without a current
    mirror), as opposed to one followed or refilled in place."""
    built = []

    class CountedMirror(GraphMirror):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(services, "GraphMirror", CountedMirror)
    return built


@pytest.fixture
def mirrored(monkeypatch):
    """The recomputes computed from the mirror (its result each time)."""
    results = []
    original = services._recompute_below_mirrored

    def counted(*args, **kwargs):
        result = original(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(services, "_recompute_below_mirrored", counted)
    return results


def assert_mirror_equals_the_database(keeper) -> None:
    """A current mirror holds exactly what the database holds."""
    mirror = keeper.mirror
    assert mirror is not None and mirror.token == RecomputeState.objects.get().token
    assert mirror.insights == selectors.stored_insights()
    stored_done = dict(TicketInsight.objects.values_list("ticket_id", "done"))
    assert {t: mirror.stored_done.get(t) for t in stored_done} == stored_done
    index = mirror.index
    for ticket_id, team_id, status in Ticket.objects.values_list("id", "team_id", "status"):
        position = index.pos[ticket_id]
        assert (index.teams[position], index.done[position]) == (team_id, status == "done")
    links = sorted((index.ids[b], index.ids[s]) for b, succ in enumerate(index.succ) for s in succ)
    assert links == sorted(selectors.graph_links())


def done_in_another_process(monkeypatch, scenario, ticket, recompute_now) -> None:
    """`ticket` set done and recomputed by another worker process (its own mirror keeper,
    its own token written): this process's mirror is stale afterwards."""
    other = services._MirrorKeeper()
    other.enabled = True
    with monkeypatch.context() as patched:
        patched.setattr(services, "_MIRROR", other)
        set_status(scenario, ticket, "done")
        recompute_now()


@pytest.mark.parametrize("seed", [21, 22, 23, 24, 25, 26])
def test_status_changes_recomputed_from_the_mirror_end_equal_to_a_full_recompute(
    scenario, keeper, recompute, mirrored, builds, seed
):
    rng = random.Random(seed)
    backlog = RandomBacklog(scenario, rng, size=60)
    recompute(full=True)  # builds the mirror from what it read
    assert_mirror_equals_the_database(keeper)
    assert len(builds) == 1
    recomputes = 0
    for _ in range(60):
        # Mostly one status change; sometimes several share a recompute, now and then with a
        # link change, a new ticket, or a size / sprint change among them.
        for _ in range(1 if rng.random() < 0.6 else rng.randint(2, 4)):
            backlog.random_change(scenario.sprint, status_share=0.9)
        report = recompute()
        recomputes += report.changes_consumed > 0
        assert selectors.stored_insights() == from_scratch()
        assert stored_done_matches_the_tickets()
        assert_mirror_equals_the_database(keeper)  # followed the run, or rebuilt after it
    taken = [result for result in mirrored if isinstance(result, services._Outcome)]
    assert len(taken) > recomputes / 2, (len(taken), recomputes)
    # Link changes through the services were followed in place: never built again.
    assert len(builds) == 1
    assert recompute(full=True).rows_written == 0  # nothing drifted, done-states included
    assert len(builds) == 1  # refilled


def diamond(scenario):
    """top -> left, right -> bottom -> below, all open; the mirror built."""
    sm = scenario.users["sm"]
    top, left, right, bottom, below = (TicketFactory(team=scenario.ml) for _ in range(5))
    for blocker, blocked in [(top, left), (top, right), (left, bottom), (right, bottom)]:
        link_create(actor=sm, blocker=blocker, blocked=blocked)
    link_create(actor=sm, blocker=bottom, blocked=below)
    return top, left, right, bottom, below


def count_of(ticket) -> int:
    return TicketInsight.objects.get(ticket=ticket).downstream_count


def test_a_diamond_moves_its_top_by_one_through_the_mirror(scenario, keeper, recompute, mirrored):
    top, _, _, bottom, below = diamond(scenario)
    recompute(full=True)
    set_status(scenario, bottom, "done")
    recompute()
    assert count_of(top) == 3  # two paths to `bottom`, counted once
    assert TicketInsight.objects.get(ticket=below).root_blocker_ids == [top.pk]
    set_status(scenario, bottom, "in_progress")
    recompute()
    assert count_of(top) == 4
    assert len(mirrored) == 2 and all(isinstance(r, services._Outcome) for r in mirrored)
    assert selectors.stored_insights() == from_scratch()
    set_status(scenario, bottom, "done")
    assert recompute().path == "mirror"


def test_changes_committed_during_a_mirrored_run_are_folded_into_the_next_one_on_the_mirror(
    scenario, keeper, recompute, monkeypatch
):
    """Many tickets changing at once: tickets changed while a run computes from the mirror
    keep a known done-state (the run used their mirrored, stored state), so the next run
    takes the mirror path again; nothing is turned into unknown state."""
    monkeypatch.setattr(services, "REGION_MAX_SHARE", 1.0)  # five tickets: any cone is large
    top, left, _, bottom, _ = diamond(scenario)
    recompute(full=True)
    set_status(scenario, left, "done")
    read = selectors.ticket_states

    def read_then_concurrent_changes(ticket_ids):
        states = read(ticket_ids)
        for ticket in (bottom, top):  # committed by other requests meanwhile
            Ticket.objects.filter(pk=ticket.pk).update(status="done")
            DerivedChange.objects.create(kind="insights", object_id=ticket.pk, detail="ticket")
        monkeypatch.setattr(selectors, "ticket_states", read)
        return states

    monkeypatch.setattr(selectors, "ticket_states", read_then_concurrent_changes)
    first = recompute()
    assert (first.path, first.changes_consumed) == ("mirror", 1)
    stored_done = dict(TicketInsight.objects.values_list("ticket_id", "done"))
    assert (stored_done[bottom.pk], stored_done[top.pk]) == (False, False)
    second = recompute()
    assert (second.path, second.changes_consumed) == ("mirror", 2)
    assert selectors.stored_insights() == from_scratch()
    assert stored_done_matches_the_tickets()
    assert_mirror_equals_the_database(keeper)


def test_after_another_process_recomputed_the_database_is_read_instead(
    scenario, keeper, recompute, mirrored, monkeypatch
):
    top, left, _, bottom, _ = diamond(scenario)
    recompute(full=True)
    assert keeper.mirror is not None
    # Another worker process takes a recompute: its own keeper, its own token written.
    done_in_another_process(monkeypatch, scenario, left, recompute)
    set_status(scenario, bottom, "done")
    assert recompute().path == "below"  # the region below, read from the database
    assert mirrored == []  # this process's mirror was stale: never used
    assert selectors.stored_insights() == from_scratch()
    assert count_of(top) == 2  # right and below
    assert_mirror_equals_the_database(keeper)  # rebuilt after the run
    set_status(scenario, bottom, "todo")
    recompute()
    assert len(mirrored) == 1 and isinstance(mirrored[0], services._Outcome)
    assert selectors.stored_insights() == from_scratch()


def test_a_link_change_through_the_services_is_followed_in_place(
    scenario, keeper, recompute, mirrored, builds, monkeypatch
):
    sm = scenario.users["sm"]
    a, b, c = (TicketFactory(team=scenario.lab, status="todo") for _ in range(3))
    link_create(actor=sm, blocker=a, blocked=b)
    recompute(full=True)
    monkeypatch.setattr(services, "MIRROR_REBUILD_INTERVAL_S", 1e9)  # no rebuild could help
    monkeypatch.setattr(services, "REGION_MAX_SHARE", 1.0)  # three tickets: any region is large
    link_create(actor=sm, blocker=b, blocked=c)
    assert recompute().path == "region"  # computed from the database...
    assert_mirror_equals_the_database(keeper)  # ...and followed: c now below b
    set_status(scenario, a, "done")
    assert recompute().path == "mirror"
    insight = TicketInsight.objects.get(ticket=c)
    assert insight.root_blocker_ids == [b.pk] and insight.depth == 1
    link = DependencyLink.objects.get(blocker=b, blocked=c)
    services.link_delete(actor=sm, link=link)
    assert recompute().path == "region"
    assert_mirror_equals_the_database(keeper)
    assert len(builds) == 1 and selectors.stored_insights() == from_scratch()


def test_a_link_written_around_the_services_is_never_missed(scenario, keeper, recompute, mirrored):
    a, b = (TicketFactory(team=scenario.lab, status="todo") for _ in range(2))
    recompute(full=True)
    DependencyLink.objects.create(blocker=a, blocked=b)  # no change marker: only the trigger
    set_status(scenario, a, "in_progress")
    recompute()
    assert mirrored == []  # the links' version moved: the database was read
    insight = TicketInsight.objects.get(ticket=b)
    assert insight.blocked and insight.root_blocker_ids == [a.pk]


def test_a_rolled_back_recompute_leaves_the_mirror_unused(
    scenario, keeper, recompute, mirrored, monkeypatch
):
    top, _, _, bottom, _ = diamond(scenario)
    recompute(full=True)
    set_status(scenario, bottom, "done")
    with monkeypatch.context() as patched:

        def fail(*args, **kwargs):
            raise RuntimeError("the database went away")

        patched.setattr(services, "_write_done", fail)
        with pytest.raises(RuntimeError):
            recompute()
    assert keeper.current(services._lock_graph()) is None  # changed while computing
    assert count_of(top) == 4  # nothing was written
    recompute()
    assert len(mirrored) == 1  # the failed run; this one read the database
    assert count_of(top) == 3
    assert selectors.stored_insights() == from_scratch()
    assert_mirror_equals_the_database(keeper)


def queries_of_a_mirrored_status_change(scenario, monkeypatch, recompute, chains, length) -> int:
    chain = build_chains(scenario, chains, length)[0]
    recompute(full=True)
    set_status(scenario, chain[length // 2], "done")

    def database_read(*args, **kwargs):
        raise AssertionError("the recompute read the graph from the database")

    with monkeypatch.context() as patched, CaptureQueriesContext(connection) as captured:
        for reader in ("graph_region", "graph_nodes", "graph_links", "stored_insights_and_done"):
            patched.setattr(selectors, reader, database_read)
        report = recompute()
    assert report.rows_written == length  # depth below the change, counts above it
    assert selectors.stored_insights() == from_scratch()
    return len(captured.captured_queries)


def test_a_mirrored_status_change_reads_no_graph_in_a_constant_number_of_queries(
    scenario, keeper, recompute, mirrored, monkeypatch
):
    small = queries_of_a_mirrored_status_change(scenario, monkeypatch, recompute, 3, 4)
    large = queries_of_a_mirrored_status_change(scenario, monkeypatch, recompute, 30, 12)
    assert len(mirrored) == 2
    # savepoint + release, graph lock with the stamp (PostgreSQL; SQLite: the stamp alone),
    # markers, the changed tickets, upsert below, counts above, done-states, markers deleted
    # with the state (PostgreSQL; SQLite: a delete and an update).
    expected = 9 if connection.vendor == "postgresql" else 10
    assert small == large == expected


def test_every_write_of_links_moves_the_links_version(scenario, recompute):
    a, b, c = (TicketFactory(team=scenario.qa) for _ in range(3))
    recompute(full=True)  # the state row exists from the first run

    def version() -> int:
        return RecomputeState.objects.get().links_version

    before = version()
    link = DependencyLink.objects.create(blocker=a, blocked=b)
    assert version() > before
    before = version()
    DependencyLink.objects.filter(pk=link.pk).update(blocker=c)
    assert version() > before
    before = version()
    c.delete()  # the link goes with the ticket
    assert version() > before and not DependencyLink.objects.exists()


def test_the_celery_worker_keeps_a_mirror(keeper):
    services.enable_mirror(False)
    tasks.keep_graph_mirror()
    assert keeper.enabled


def test_a_mirror_counts_each_flipped_ticket_once_per_ancestor():
    """Pure: a diamond's top sees its bottom once, whatever the number of paths."""
    state = graph.TicketState
    tickets = [state(1, 1, False), state(2, 1, False), state(3, 2, False), state(4, 2, False)]
    links = [(1, 2), (1, 3), (2, 4), (3, 4)]
    stored = graph.compute_insights(tickets, links)
    mirror = GraphMirror(0, tickets, links, stored, dict.fromkeys(stored, False))
    assert mirror.ancestor_counts({4: -1}, mirror.below([4])) == {1: 2, 2: 0, 3: 0}
    # Ancestors below another changed ticket are recounted by the caller, not moved here.
    assert mirror.ancestor_counts({4: -1}, mirror.below([4, 2])) == {1: 2, 3: 0}


def test_the_log_says_why_a_run_did_not_compute_from_the_mirror(
    scenario, keeper, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    """Operators read the path and the reason in the worker's log line."""
    _, left, _, bottom, _ = diamond(scenario)

    def run(**kwargs) -> services.RecomputeReport:
        with django_capture_on_commit_callbacks(execute=True):
            return services.insights_run(**kwargs)

    assert run(full=True).reason == ""
    done_in_another_process(monkeypatch, scenario, left, run)
    set_status(scenario, bottom, "done")
    with caplog.at_level(logging.INFO, logger="dependencies.services"):
        report = run()
    assert (report.path, report.reason) == ("below", "mirror stale: another recompute")
    assert "(below) reason: mirror stale: another recompute" in caplog.text
    caplog.clear()
    set_status(scenario, bottom, "todo")
    with caplog.at_level(logging.INFO, logger="dependencies.services"):
        report = run()  # the mirror was rebuilt after the last run
    assert (report.path, report.reason) == ("mirror", "")
    assert "(mirror)" in caplog.text and "reason" not in caplog.text
    assert selectors.stored_insights() == from_scratch()


def no_graph_read_from_the_database(monkeypatch) -> None:
    def database_read(*args, **kwargs):
        raise AssertionError("the recompute read the graph from the database")

    for reader in ("graph_region", "all_ticket_states", "graph_links", "stored_insights_and_done"):
        monkeypatch.setattr(selectors, reader, database_read)


def test_a_cone_over_the_region_share_is_still_computed_from_the_mirror(
    scenario, keeper, recompute, monkeypatch
):
    """The share weighs a region read against reading the whole graph from the database; the
    mirror holds the whole graph already. Under many concurrent changes most runs' cones
    were over it, and each went to the database."""
    top, left, right, bottom, below = diamond(scenario)
    recompute(full=True)
    monkeypatch.setattr(services, "REGION_MAX_SHARE", 0.01)  # every cone is over it
    set_status(scenario, top, "done")
    set_status(scenario, bottom, "done")
    with monkeypatch.context() as patched:
        no_graph_read_from_the_database(patched)
        report = recompute()
    assert (report.path, report.reason) == ("mirror", "")
    assert TicketInsight.objects.get(ticket=below).root_blocker_ids == [left.pk, right.pk]
    assert selectors.stored_insights() == from_scratch()
    assert stored_done_matches_the_tickets()
    assert_mirror_equals_the_database(keeper)


def test_a_stored_done_state_unknown_is_counted_exactly_on_the_mirror(
    scenario, keeper, recompute, monkeypatch
):
    top, _, _, bottom, _ = diamond(scenario)
    recompute(full=True)
    TicketInsight.objects.filter(ticket=bottom).update(done=None)  # e.g. rows older than it
    keeper.mirror = None  # rebuilt with it
    services.rebuild_mirror_if_due()
    assert keeper.mirror.stored_done[bottom.pk] is None
    set_status(scenario, bottom, "done")
    with monkeypatch.context() as patched:
        no_graph_read_from_the_database(patched)
        report = recompute()
    assert (report.path, report.reason) == ("mirror", "")
    assert count_of(top) == 3  # left, right, below: counted, not moved by one
    assert selectors.stored_insights() == from_scratch()
    assert stored_done_matches_the_tickets()
    assert_mirror_equals_the_database(keeper)


def test_a_change_committed_during_a_run_that_read_the_database_keeps_the_next_run_on_the_mirror(
    scenario, keeper, recompute, monkeypatch
):
    """A run that read the whole graph while a ticket's status changed records that ticket's
    done-state as unknown (some insights counted its new state, others not). Its own run
    then counts its ancestors exactly, on the mirror: it used to need the region read, over
    the share under load, so the whole graph again, which left more unknown done-states:
    runs stayed off the mirror."""
    sm = scenario.users["sm"]
    top, left, _, bottom, _ = diamond(scenario)
    recompute(full=True)
    monkeypatch.setattr(services, "REGION_MAX_SHARE", 0.01)  # the link's region: too large
    read = selectors.all_ticket_states

    def concurrent_change_then_read():
        # What another request commits between the markers read and the whole graph read.
        Ticket.objects.filter(pk=bottom.pk).update(status="done")
        DerivedChange.objects.create(kind="insights", object_id=bottom.pk, detail="ticket")
        monkeypatch.setattr(selectors, "all_ticket_states", read)
        return read()

    monkeypatch.setattr(selectors, "all_ticket_states", concurrent_change_then_read)
    extra = TicketFactory(team=scenario.ml)
    link_create(actor=sm, blocker=left, blocked=extra)
    first = recompute()
    assert first.path == "whole graph"
    assert first.reason.startswith("links changed; region with the ancestors over 1%")
    assert TicketInsight.objects.get(ticket=bottom).done is None
    assert keeper.mirror.stored_done[bottom.pk] is None  # followed the run: still current
    with monkeypatch.context() as patched:
        no_graph_read_from_the_database(patched)
        second = recompute()
    assert (second.path, second.reason, second.changes_consumed) == ("mirror", "", 1)
    assert count_of(top) == 4  # left, right, extra, below
    assert selectors.stored_insights() == from_scratch()
    assert stored_done_matches_the_tickets()
    assert_mirror_equals_the_database(keeper)


@pytest.mark.parametrize("seed", [31, 32, 33, 34])
def test_runs_on_the_mirror_with_changes_committed_meanwhile_end_equal_to_a_full_recompute(
    scenario, keeper, recompute, monkeypatch, seed
):
    """Many tickets changing at once, every cone over the share: status changes committed
    while a run computes from the mirror (after it read the changed tickets) or while
    another reads the whole graph (a link change) are the next run's; every run but those
    stays on the mirror, and once the changes stop the insights equal a full recompute."""
    rng = random.Random(seed)
    backlog = RandomBacklog(scenario, rng, size=50)
    recompute(full=True)
    monkeypatch.setattr(services, "REGION_MAX_SHARE", 0.01)
    readers = {name: getattr(selectors, name) for name in ("ticket_states", "all_ticket_states")}
    paths = []
    exact = []
    recompute_exact = GraphMirror.recompute_exact

    def counted(mirror, fresh):
        exact.append(len(fresh))
        return recompute_exact(mirror, fresh)

    monkeypatch.setattr(GraphMirror, "recompute_exact", counted)

    def change_meanwhile(reader: str):
        read = readers[reader]

        def read_with_changes(*args, **kwargs):
            monkeypatch.setattr(selectors, reader, read)
            if reader == "all_ticket_states":  # committed before the whole graph is read
                backlog.change_status()
                return read(*args, **kwargs)
            result = read(*args, **kwargs)  # committed after the changed tickets were read
            backlog.change_status()
            return result

        monkeypatch.setattr(selectors, reader, read_with_changes)

    for _ in range(40):
        for _ in range(rng.randint(1, 4)):
            backlog.change_status()
        links_before = DependencyLink.objects.count()
        if rng.random() < 0.15:
            backlog.add_link()
        links_changed = DependencyLink.objects.count() != links_before
        for reader in readers:
            if rng.random() < 0.5:
                change_meanwhile(reader)
        paths.append((links_changed, recompute().path))
        for reader, read in readers.items():  # the ones the run did not call
            monkeypatch.setattr(selectors, reader, read)
    while recompute().changes_consumed:  # the changes committed during the last run
        pass
    assert selectors.stored_insights() == from_scratch()
    assert stored_done_matches_the_tickets()
    assert_mirror_equals_the_database(keeper)
    # Status changes alone: the mirror, whatever their cone or unknown done-states.
    assert {path for links_changed, path in paths if not links_changed} <= {"mirror", ""}, paths
    assert exact  # some done-states were left unknown, and counted exactly on the mirror
