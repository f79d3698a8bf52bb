"""The incremental recompute reads only the region a change can move, and still ends equal to
a recompute from scratch: random changes through the services, on the real database."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies import graph, selectors, services
from dependencies.models import DependencyLink, TicketInsight
from dependencies.services import insights_recompute, link_create, link_delete
from sprintplan.errors import Conflict, InvalidInput
from sprintplan.models import DerivedChange
from tickets.models import Ticket
from tickets.services import TicketBlocked, ticket_create, ticket_update

from ..factories import TicketFactory

STATUSES = ["backlog", "todo", "in_progress", "in_review", "done"]
GROUP = 8  # tickets per "epic": most links stay inside one, as in real backlogs


def from_scratch() -> dict[int, graph.Insight]:
    return graph.compute_insights(selectors.graph_nodes(), selectors.graph_links())


def count_calls(monkeypatch, name: str) -> list[int]:
    calls = []
    original = getattr(graph, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(graph, name, counted)
    return calls


@pytest.fixture
def region_calls(monkeypatch):
    """How many recomputes went through the region path (ancestors recounted exactly)."""
    return count_calls(monkeypatch, "recompute_region")


@pytest.fixture
def below_calls(monkeypatch):
    """How many recomputes went through the status path (descendants recomputed, ancestors'
    counts moved by +/-1)."""
    return count_calls(monkeypatch, "recompute_below")


def stored_done_matches_the_tickets() -> bool:
    """Every insight row records its ticket's current done-state (no change is pending)."""
    rows = TicketInsight.objects.values_list("done", "ticket__status")
    return all(done is (status == "done") for done, status in rows)


class RandomBacklog:
    """Tickets and links built and changed through the services, as users would."""

    def __init__(self, scenario, rng: random.Random, size: int = 40) -> None:
        self.rng = rng
        self.sm = scenario.users["sm"]
        self.teams = [scenario.lab, scenario.ml, scenario.qa]
        self.tickets = [
            TicketFactory(
                team=rng.choice(self.teams),
                status="done" if rng.random() < 0.5 else rng.choice(STATUSES[:4]),
            )
            for _ in range(size)
        ]
        for _ in range(int(size * 1.6)):
            self.add_link(forward_only=True)

    def pair(self) -> tuple[Ticket, Ticket]:
        first = self.rng.randrange(len(self.tickets))
        if self.rng.random() < 0.8:  # inside its group
            start = first - first % GROUP
            second = self.rng.randrange(start, min(start + GROUP, len(self.tickets)))
        else:
            second = self.rng.randrange(len(self.tickets))
        return self.tickets[first], self.tickets[second]

    def add_link(self, *, forward_only: bool = False) -> None:
        a, b = self.pair()
        if forward_only and a.pk > b.pk:
            a, b = b, a
        try:
            link_create(actor=self.sm, blocker=a, blocked=b)
        except InvalidInput as refused:  # a self-link, or a cycle: the graph stays a DAG
            assert refused.code in {"self_link", "cycle"}
        except Conflict as refused:
            assert refused.code == "duplicate_link"

    def remove_link(self) -> None:
        links = list(DependencyLink.objects.select_related("blocker", "blocked"))
        if links:
            link_delete(actor=self.sm, link=self.rng.choice(links))

    def change_status(self) -> None:
        ticket = Ticket.objects.get(pk=self.rng.choice(self.tickets).pk)
        status = self.rng.choice([s for s in STATUSES if s != ticket.status])
        override = "random test" if status == "done" and self.rng.random() < 0.7 else ""
        try:
            ticket_update(
                ticket=ticket,
                actor=self.sm,
                changes={"status": status},
                expected_version=ticket.version,
                override_reason=override,
            )
        except TicketBlocked:
            assert not override
            assert from_scratch()[ticket.pk].blocked  # refused exactly when work is upstream

    def change_size_or_sprint(self, sprint) -> None:
        ticket = Ticket.objects.get(pk=self.rng.choice(self.tickets).pk)
        changes = (
            {"size": ticket.size + 3}
            if self.rng.random() < 0.5
            else {"sprint": None if ticket.sprint_id else sprint}
        )
        ticket_update(
            ticket=ticket, actor=self.sm, changes=changes, expected_version=ticket.version
        )

    def create_ticket(self) -> None:
        status = self.rng.choice(STATUSES)
        self.tickets.append(
            ticket_create(
                actor=self.sm, team=self.rng.choice(self.teams), title="new", status=status
            )
        )

    def random_change(self, sprint, *, status_share: float = 0.5) -> None:
        roll = self.rng.random()
        rest = (roll - status_share) / (1 - status_share)  # the other changes as before
        if roll < status_share:
            self.change_status()
        elif rest < 0.4:
            self.add_link()
        elif rest < 0.7:
            self.remove_link()
        elif rest < 0.84:
            self.change_size_or_sprint(sprint)
        else:
            self.create_ticket()


def assert_recompute_matches_from_scratch() -> services.RecomputeReport:
    before = selectors.stored_insights()
    report = insights_recompute()
    stored = selectors.stored_insights()
    assert stored == from_scratch()
    assert not DerivedChange.objects.filter(kind="insights").exists()
    assert stored_done_matches_the_tickets()
    # Only rows that differ were written.
    assert report.rows_written == sum(stored[i] != before.get(i) for i in stored)
    return report


@pytest.mark.parametrize("force_region", [False, True], ids=["default", "region-only"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_changes_through_the_services_end_equal_to_a_full_recompute(
    scenario, monkeypatch, region_calls, below_calls, seed, force_region
):
    if force_region:  # never fall back to the whole graph, however large the region
        monkeypatch.setattr(services, "REGION_MAX_SHARE", 1.0)
    rng = random.Random(seed)
    backlog = RandomBacklog(scenario, rng)
    insights_recompute(full=True)  # factory tickets carry no change marker
    assert selectors.stored_insights() == from_scratch()
    recomputes = changes = 0
    while changes < 60:
        for _ in range(rng.randint(1, 3)):  # sometimes several changes share a recompute
            backlog.random_change(scenario.sprint)
            changes += 1
        report = assert_recompute_matches_from_scratch()
        recomputes += report.changes_consumed > 0
    if force_region:
        assert len(region_calls) + len(below_calls) == recomputes
    else:
        assert region_calls, "the region path was never taken"
    assert below_calls, "the status path was never taken"


def build_chains(scenario, chains: int, length: int) -> list[list[Ticket]]:
    sm = scenario.users["sm"]
    built = []
    for number in range(chains):
        chain = [TicketFactory(team=scenario.ml if number % 2 else scenario.qa)]
        for _ in range(length - 1):
            chain.append(TicketFactory(team=scenario.lab))
            link_create(actor=sm, blocker=chain[-2], blocked=chain[-1])
        built.append(chain)
    insights_recompute(full=True)
    return built


def queries_of_one_incremental_recompute(
    scenario, monkeypatch, chains: int, length: int, *, change: str
) -> int:
    """Queries of the recompute after one change mid-chain, in a backlog of `chains` chains
    of `length` tickets (the region: one chain). `change`: "status" (the ticket is done) or
    "link" (the link into it is removed)."""
    chain = build_chains(scenario, chains, length)[0]
    middle = chain[length // 2]
    if change == "status":
        ticket_update(
            ticket=middle,
            actor=scenario.users["sm"],
            changes={"status": "done"},
            expected_version=middle.version,
            override_reason="query count",
        )
    else:
        link = DependencyLink.objects.get(blocker=chain[length // 2 - 1], blocked=middle)
        link_delete(actor=scenario.users["sm"], link=link)

    def whole_graph_read(*args, **kwargs):
        raise AssertionError("the incremental recompute read the whole graph")

    with monkeypatch.context() as patched, CaptureQueriesContext(connection) as captured:
        for reader in ("graph_nodes", "graph_links", "stored_insights", "stored_insights_and_done"):
            patched.setattr(selectors, reader, whole_graph_read)
        report = insights_recompute()
    assert report.rows_written == length  # the chain's tickets all changed (depth, counts)
    assert selectors.stored_insights() == from_scratch()
    assert stored_done_matches_the_tickets()
    # A statement prepared on this database session the first time (PostgreSQL) is not a
    # query of the recompute: later runs on the session only EXECUTE it.
    return sum(not q["sql"].startswith("PREPARE") for q in captured.captured_queries)


def test_incremental_recompute_reads_only_the_region_in_a_constant_number_of_queries(
    scenario, monkeypatch, region_calls, below_calls
):
    insights_recompute(full=True)  # the first run ever also creates the state row
    small = queries_of_one_incremental_recompute(
        scenario, monkeypatch, chains=3, length=6, change="link"
    )
    large = queries_of_one_incremental_recompute(
        scenario, monkeypatch, chains=30, length=12, change="link"
    )
    assert len(region_calls) == 2 and not below_calls
    # savepoint + release, markers, region, upsert of the chain below, downstream counts of
    # the tickets above, done-states, delete markers, state update; PostgreSQL also takes
    # the graph lock, and deletes the markers in the statement that records the run.
    assert small == large == 9


def test_a_status_change_reads_only_below_it_in_a_constant_number_of_queries(
    scenario, monkeypatch, region_calls, below_calls
):
    insights_recompute(full=True)
    small = queries_of_one_incremental_recompute(
        scenario, monkeypatch, chains=3, length=4, change="status"
    )
    large = queries_of_one_incremental_recompute(
        scenario, monkeypatch, chains=30, length=12, change="status"
    )
    assert len(below_calls) == 2 and not region_calls
    # savepoint + release, markers, the region below, +/-1 on the ancestors' counts, upsert
    # of the chain below, done-states, delete markers, state update; PostgreSQL also takes
    # the graph lock, and deletes the markers in the statement that records the run.
    assert small == large == 9


@pytest.mark.parametrize("force_region", [False, True], ids=["default", "region-only"])
@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15, 16])
def test_mostly_status_changes_take_the_status_path_and_end_equal_to_a_full_recompute(
    scenario, monkeypatch, region_calls, below_calls, seed, force_region
):
    if force_region:  # never fall back to the whole graph, however large the region
        monkeypatch.setattr(services, "REGION_MAX_SHARE", 1.0)
    rng = random.Random(seed)
    backlog = RandomBacklog(scenario, rng, size=60)
    insights_recompute(full=True)
    recomputes = 0
    for _ in range(60):
        # Mostly one status change; sometimes several (one ticket twice, or an ancestor and
        # its descendant) share a recompute, now and then with a link change among them.
        for _ in range(1 if rng.random() < 0.6 else rng.randint(2, 4)):
            backlog.random_change(scenario.sprint, status_share=0.9)
        report = assert_recompute_matches_from_scratch()
        recomputes += report.changes_consumed > 0
    assert insights_recompute(full=True).rows_written == 0  # nothing drifted, done-states too
    assert len(below_calls) > recomputes / 2, (len(below_calls), recomputes)
    if force_region:
        assert len(region_calls) + len(below_calls) == recomputes


@pytest.fixture
def any_region_size(monkeypatch):
    """A few tickets: any region is a large share of them; never read the whole graph."""
    monkeypatch.setattr(services, "REGION_MAX_SHARE", 1.0)


def set_status(scenario, ticket: Ticket, status: str) -> None:
    ticket = Ticket.objects.get(pk=ticket.pk)
    ticket_update(
        ticket=ticket,
        actor=scenario.users["sm"],
        changes={"status": status},
        expected_version=ticket.version,
        override_reason="test" if status == "done" else "",
    )


def count_of(ticket: Ticket) -> int:
    return TicketInsight.objects.get(ticket=ticket).downstream_count


@pytest.mark.usefixtures("any_region_size")
def test_a_diamond_moves_its_top_by_one(scenario, below_calls, region_calls):
    sm = scenario.users["sm"]
    top, left, right, bottom, below = (TicketFactory(team=scenario.ml) for _ in range(5))
    for blocker, blocked in [(top, left), (top, right), (left, bottom), (right, bottom)]:
        link_create(actor=sm, blocker=blocker, blocked=blocked)
    link_create(actor=sm, blocker=bottom, blocked=below)
    insights_recompute(full=True)
    assert count_of(top) == 4
    set_status(scenario, bottom, "done")
    assert_recompute_matches_from_scratch()
    assert count_of(top) == 3  # two paths to `bottom`, one ticket less
    set_status(scenario, bottom, "in_progress")
    assert_recompute_matches_from_scratch()
    assert count_of(top) == 4
    assert len(below_calls) == 2 and not region_calls


@pytest.mark.usefixtures("any_region_size")
def test_status_changes_sharing_a_recompute(scenario, below_calls, region_calls):
    """An ancestor and its descendant flipped together, and a ticket flipped twice (back to
    where it was): each counted from the stored done-state, not from the markers."""
    sm = scenario.users["sm"]
    a, b, c, d = (TicketFactory(team=scenario.lab, status="todo") for _ in range(4))
    for blocker, blocked in [(a, b), (b, c), (c, d)]:
        link_create(actor=sm, blocker=blocker, blocked=blocked)
    insights_recompute(full=True)
    for ticket in (b, d):
        set_status(scenario, ticket, "done")
    set_status(scenario, c, "done")
    set_status(scenario, c, "in_review")
    report = assert_recompute_matches_from_scratch()
    assert report.changes_consumed == 4
    assert count_of(a) == 1  # c alone: b and d are done
    set_status(scenario, b, "todo")
    set_status(scenario, a, "done")
    assert_recompute_matches_from_scratch()
    assert count_of(b) == 1
    assert len(below_calls) == 2 and not region_calls


@pytest.mark.usefixtures("any_region_size")
def test_a_status_change_with_its_stored_done_state_unknown_is_counted_exactly(
    scenario, below_calls, region_calls
):
    sm = scenario.users["sm"]
    a, b = (TicketFactory(team=scenario.lab, status="todo") for _ in range(2))
    link_create(actor=sm, blocker=a, blocked=b)
    insights_recompute(full=True)
    TicketInsight.objects.filter(ticket=b).update(done=None)  # e.g. rows older than the column
    set_status(scenario, b, "done")
    assert_recompute_matches_from_scratch()
    assert count_of(a) == 0
    assert len(region_calls) == 1 and not below_calls


@pytest.mark.usefixtures("any_region_size")
@pytest.mark.parametrize("path", ["below", "region"])
def test_a_change_committed_while_the_region_is_read_is_recounted_exactly(
    scenario, monkeypatch, path
):
    """READ COMMITTED: a status change committed after the markers were read may show in the
    region read, half counted. Its done-state is then recorded as unknown, so its own recompute
    counts exactly instead of adding +/-1 again. Unless the ticket is one of the run's own
    changed tickets (the link's ends): the run then counted its state as read everywhere (its
    ancestors are in the region) and records that state."""
    sm = scenario.users["sm"]
    a, b, c = (TicketFactory(team=scenario.lab, status="todo") for _ in range(3))
    link_create(actor=sm, blocker=a, blocked=b)
    link_create(actor=sm, blocker=b, blocked=c)
    insights_recompute(full=True)
    if path == "below":
        set_status(scenario, b, "in_progress")  # no done flip: the status path
    else:
        link_create(actor=sm, blocker=a, blocked=c)  # a link change: the exact region path
    read = selectors.graph_region

    def concurrent_change_then_read(*args, **kwargs):
        # What another transaction commits between the markers read and the region read.
        Ticket.objects.filter(pk=c.pk).update(status="done")
        DerivedChange.objects.create(kind="insights", object_id=c.pk, detail="ticket")
        monkeypatch.setattr(selectors, "graph_region", read)
        return read(*args, **kwargs)

    monkeypatch.setattr(selectors, "graph_region", concurrent_change_then_read)
    insights_recompute()
    assert TicketInsight.objects.get(ticket=c).done is (None if path == "below" else True)
    assert DerivedChange.objects.filter(kind="insights", object_id=c.pk).exists()
    assert_recompute_matches_from_scratch()  # a's and b's counts lose c once, not twice


@pytest.mark.usefixtures("any_region_size")
def test_a_change_committed_after_the_region_was_read_keeps_its_known_done_state(
    scenario, monkeypatch, below_calls, region_calls
):
    """Many tickets changing at once: a change the run did not read (committed after its
    region read) is simply the next run's; its done-state stays known, so that run takes the
    status path instead of recounting exactly."""
    sm = scenario.users["sm"]
    a, b, c = (TicketFactory(team=scenario.lab, status="todo") for _ in range(3))
    link_create(actor=sm, blocker=a, blocked=b)
    link_create(actor=sm, blocker=b, blocked=c)
    insights_recompute(full=True)
    set_status(scenario, b, "in_progress")
    read = selectors.graph_region

    def read_then_concurrent_change(*args, **kwargs):
        region = read(*args, **kwargs)
        Ticket.objects.filter(pk=c.pk).update(status="done")
        DerivedChange.objects.create(kind="insights", object_id=c.pk, detail="ticket")
        monkeypatch.setattr(selectors, "graph_region", read)
        return region

    monkeypatch.setattr(selectors, "graph_region", read_then_concurrent_change)
    insights_recompute()
    assert TicketInsight.objects.get(ticket=c).done is False  # what the run counted with
    report = assert_recompute_matches_from_scratch()
    assert report.path == "below"
    assert len(below_calls) == 2 and not region_calls


def test_a_feeder_never_computed_sends_the_recompute_to_the_whole_graph(scenario, region_calls):
    sm = scenario.users["sm"]
    a, b, c, feeder = (TicketFactory(team=scenario.ml) for _ in range(4))
    link_create(actor=sm, blocker=a, blocked=b)
    link_create(actor=sm, blocker=b, blocked=c)
    insights_recompute(full=True)
    # A link written around the services: no change marker, and `feeder` has no insight row.
    DependencyLink.objects.create(blocker=feeder, blocked=c)
    b.refresh_from_db()
    ticket_update(
        ticket=b,
        actor=sm,
        changes={"status": "done"},
        expected_version=b.version,
        override_reason="feeder test",
    )
    assert_recompute_matches_from_scratch()
    assert not region_calls  # the region's feeder had no stored insight to start from
