"""The incremental recompute reads only the region a change can move, and still ends equal to
a recompute from scratch: random changes through the services, on the real database."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies import graph, selectors, services
from dependencies.models import DependencyLink, GraphChange
from dependencies.services import insights_recompute, link_create, link_delete
from sprintplan.errors import Conflict, InvalidInput
from tickets.models import Ticket
from tickets.services import TicketBlocked, ticket_create, ticket_update

from ..factories import TicketFactory

STATUSES = ["backlog", "todo", "in_progress", "in_review", "done"]
GROUP = 8  # tickets per "epic": most links stay inside one, as in real backlogs


def from_scratch() -> dict[int, graph.Insight]:
    return graph.compute_insights(selectors.graph_nodes(), selectors.graph_links())


@pytest.fixture
def region_calls(monkeypatch):
    """How many recomputes went through the region path."""
    calls = []
    original = graph.recompute_region

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(graph, "recompute_region", counted)
    return calls


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

    def random_change(self, sprint) -> None:
        roll = self.rng.random()
        if roll < 0.5:
            self.change_status()
        elif roll < 0.7:
            self.add_link()
        elif roll < 0.85:
            self.remove_link()
        elif roll < 0.92:
            self.change_size_or_sprint(sprint)
        else:
            self.create_ticket()


def assert_recompute_matches_from_scratch() -> services.RecomputeReport:
    before = selectors.stored_insights()
    report = insights_recompute()
    stored = selectors.stored_insights()
    assert stored == from_scratch()
    assert not GraphChange.objects.exists()
    # Only rows that differ were written.
    assert report.rows_written == sum(stored[i] != before.get(i) for i in stored)
    return report


@pytest.mark.parametrize("force_region", [False, True], ids=["default", "region-only"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_changes_through_the_services_end_equal_to_a_full_recompute(
    scenario, monkeypatch, region_calls, seed, force_region
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
        assert len(region_calls) == recomputes
    else:
        assert region_calls, "the region path was never taken"


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


def queries_of_one_incremental_recompute(scenario, monkeypatch, chains: int, length: int) -> int:
    """Queries of the recompute after one ticket mid-chain is done, in a backlog of
    `chains` chains of `length` tickets (the region: one chain)."""
    middle = build_chains(scenario, chains, length)[0][length // 2]
    ticket_update(
        ticket=middle,
        actor=scenario.users["sm"],
        changes={"status": "done"},
        expected_version=middle.version,
        override_reason="query count",
    )

    def whole_graph_read(*args, **kwargs):
        raise AssertionError("the incremental recompute read the whole graph")

    with monkeypatch.context() as patched, CaptureQueriesContext(connection) as captured:
        for reader in ("graph_nodes", "graph_links", "stored_insights"):
            patched.setattr(selectors, reader, whole_graph_read)
        report = insights_recompute()
    assert report.rows_written == length  # the chain's tickets all changed (depth, counts)
    assert selectors.stored_insights() == from_scratch()
    return len(captured.captured_queries)


def test_incremental_recompute_reads_only_the_region_in_a_constant_number_of_queries(
    scenario, monkeypatch, region_calls
):
    insights_recompute(full=True)  # the first run ever also creates the state row
    small = queries_of_one_incremental_recompute(scenario, monkeypatch, chains=3, length=4)
    large = queries_of_one_incremental_recompute(scenario, monkeypatch, chains=30, length=12)
    assert len(region_calls) == 2
    # savepoint + release, markers, region, upsert of the
    # chain below, downstream counts of the ticket above, delete markers, state read + save;
    # on PostgreSQL also the graph lock and SET LOCAL jit = off.
    postgresql = 2 if connection.vendor == "postgresql" else 0
    assert small == large == 9 + postgresql


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
