"""Rules of dependencies/graph.py: hand-built cases with known answers, then properties checked
against a brute-force oracle on random DAGs. No database, no Django."""

import functools
from collections import defaultdict, deque
from dataclasses import replace
from itertools import pairwise
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dependencies import graph
from dependencies.graph import (
    CriticalPath,
    DependencyCycleError,
    Insight,
    Node,
    affected_ids,
    compute_insights,
    critical_path,
    find_cycle,
    link_health,
    recompute_below,
    recompute_incremental,
    recompute_region,
)

LAB, ML, QA = 1, 2, 3
NOT_BLOCKED = Insight(False, (), (), 0, 0, False)


def ticket(ticket_id, team=ML, *, done=False, days=1.0, sprint=None, key=None) -> Node:
    return Node(
        id=ticket_id,
        key=key or f"T-{ticket_id}",
        team_id=team,
        done=done,
        remaining_days=0.0 if done else days,
        sprint_rank=sprint,
    )


# The chain LAB-1 -> ML-1 -> ML-2 -> QA-1, across three teams.
LAB_1, ML_1, ML_2, QA_1 = 11, 21, 22, 31


def chain(*, ml_1_done=False) -> tuple[list[Node], list[tuple[int, int]]]:
    nodes = [
        ticket(LAB_1, LAB, key="LAB-1"),
        ticket(ML_1, ML, key="ML-1", done=ml_1_done),
        ticket(ML_2, ML, key="ML-2"),
        ticket(QA_1, QA, key="QA-1"),
    ]
    return nodes, [(LAB_1, ML_1), (ML_1, ML_2), (ML_2, QA_1)]


# --- compute_insights: hand-built cases -----------------------------------------------------


def test_chain_of_three_teams_gives_blockers_depth_downstream_and_cross_team():
    insights = compute_insights(*chain())
    assert insights == {
        LAB_1: Insight(False, (), (), 0, 3, False),
        ML_1: Insight(True, (LAB_1,), (LAB_1,), 1, 2, True),
        ML_2: Insight(True, (ML_1,), (LAB_1,), 2, 1, True),
        QA_1: Insight(True, (ML_2,), (LAB_1,), 3, 0, True),
    }


def test_ticket_behind_unfinished_chain_is_blocked_through_done_tickets():
    insights = compute_insights(*chain(ml_1_done=True))
    assert insights[ML_1] == NOT_BLOCKED  # a done ticket is never blocked
    assert insights[ML_2] == Insight(True, (), (LAB_1,), 1, 1, True)
    assert insights[LAB_1].downstream_count == 2  # ML-2 and QA-1 still wait on LAB-1
    assert insights[QA_1].depth == 2  # LAB-1 and ML-2; the done ML-1 does not count


def test_done_ticket_gets_neutral_insight_even_with_unfinished_upstream_and_downstream():
    nodes = [ticket(1), ticket(2, done=True), ticket(3)]
    assert compute_insights(nodes, [(1, 2), (2, 3)])[2] == NOT_BLOCKED


def test_ticket_whose_upstream_is_all_done_is_not_blocked():
    nodes = [ticket(1, done=True), ticket(2, done=True), ticket(3)]
    assert compute_insights(nodes, [(1, 2), (2, 3)])[3] == NOT_BLOCKED


def test_diamond_counts_each_downstream_ticket_once_and_lists_both_direct_blockers():
    nodes = [ticket(1), ticket(2), ticket(3), ticket(4)]
    insights = compute_insights(nodes, [(1, 2), (1, 3), (2, 4), (3, 4)])
    assert insights[1].downstream_count == 3
    assert insights[4] == Insight(True, (2, 3), (1,), 2, 0, False)


def test_root_blockers_are_the_unblocked_unfinished_tickets_upstream():
    nodes = [ticket(1), ticket(2), ticket(3), ticket(4)]
    insights = compute_insights(nodes, [(1, 4), (2, 3), (3, 4)])
    assert insights[4].root_blockers == (1, 2)
    assert insights[4].depth == 2  # 2 -> 3 -> 4 is the longer chain


def test_cross_team_is_false_when_all_unfinished_upstream_is_same_team():
    nodes = [ticket(1, LAB, done=True), ticket(2, ML), ticket(3, ML)]
    insights = compute_insights(nodes, [(1, 2), (2, 3)])
    assert insights[3].cross_team is False  # the other-team ticket is done


def test_cross_team_is_true_when_another_team_is_upstream_behind_same_team_tickets():
    nodes = [ticket(1, QA), ticket(2, ML), ticket(3, ML)]
    assert compute_insights(nodes, [(1, 2), (2, 3)])[3].cross_team is True


def test_links_to_unknown_tickets_are_ignored():
    assert compute_insights([ticket(1)], [(1, 99), (98, 1)]) == {1: NOT_BLOCKED}


def test_duplicate_links_do_not_duplicate_blockers_or_counts():
    insights = compute_insights([ticket(1), ticket(2)], [(1, 2), (1, 2)])
    assert insights[2].direct_blockers == (1,)
    assert insights[1].downstream_count == 1


def test_cycle_in_links_is_reported_with_its_tickets():
    with pytest.raises(DependencyCycleError) as error:
        compute_insights([ticket(1), ticket(2), ticket(3)], [(1, 2), (2, 3), (3, 2)])
    cycle = error.value.cycle
    assert cycle[0] == cycle[-1] and set(cycle) == {2, 3}


def test_deep_chain_does_not_hit_the_recursion_limit():
    size = 5000
    nodes = [ticket(i) for i in range(size)]
    links = [(i, i + 1) for i in range(size - 1)]
    insights = compute_insights(nodes, links)
    assert insights[size - 1].depth == size - 1
    assert insights[0].downstream_count == size - 1
    assert critical_path(nodes, links).length_days == size
    assert len(find_cycle({i: [i + 1] for i in range(size)}, size - 1, 0)) == size + 1
    nodes[0] = ticket(0, done=True)
    with patch.object(graph, "_FULL_RECOMPUTE_SHARE", 1.0):
        delta = recompute_incremental(nodes, links, [0], insights)
    assert delta[size - 1].depth == size - 2


@pytest.mark.usefixtures("incremental_walk")
def test_long_done_chain_above_a_change_is_read_through_without_recursion():
    size = 5000
    nodes = [ticket(i, LAB, done=0 < i < size - 1) for i in range(size)]
    links = [(i, i + 1) for i in range(size - 1)]
    before = compute_insights(nodes, links)
    nodes[-1] = ticket(size - 1, ML)  # the last ticket moves team: LAB-0 is now another team
    delta = recompute_incremental(nodes, links, [size - 1], before)
    assert delta == {size - 1: Insight(True, (), (0,), 1, 0, True)}


# --- recompute_incremental: hand-built cases --------------------------------------------------


@pytest.fixture
def incremental_walk():
    """Small graphs are mostly "affected", which would trigger the full-pass fallback."""
    with patch.object(graph, "_FULL_RECOMPUTE_SHARE", 1.0):
        yield


@pytest.mark.usefixtures("incremental_walk")
def test_finishing_a_ticket_mid_chain_updates_only_what_changed():
    nodes, links = chain()
    before = compute_insights(nodes, links)
    after_nodes, _ = chain(ml_1_done=True)
    delta = recompute_incremental(after_nodes, links, [ML_1], before)
    assert delta == {
        ML_1: NOT_BLOCKED,
        ML_2: Insight(True, (), (LAB_1,), 1, 1, True),
        QA_1: Insight(True, (ML_2,), (LAB_1,), 2, 0, True),
        LAB_1: Insight(False, (), (), 0, 2, False),
    }


@pytest.mark.usefixtures("incremental_walk")
def test_change_that_moves_no_insight_returns_nothing():
    nodes, links = chain()
    before = compute_insights(nodes, links)
    moved = [replace(node, sprint_rank=3, remaining_days=9.0) for node in nodes]
    assert recompute_incremental(moved, links, [ML_1], before) == {}


@pytest.mark.usefixtures("incremental_walk")
def test_recompute_stops_below_a_ticket_whose_insight_held():
    # 1 -> 2 -> 3 -> 4 -> 5 and 1 -> 6 -> 4: finishing 6 keeps 4's depth (via 2, 3) and roots.
    nodes = [ticket(i) for i in range(1, 7)]
    links = [(1, 2), (2, 3), (3, 4), (4, 5), (1, 6), (6, 4)]
    before = compute_insights(nodes, links)
    nodes[5] = ticket(6, done=True)
    delta = recompute_incremental(nodes, links, [6], before)
    assert set(delta) == {6, 1, 4}  # 4 only loses a direct blocker
    assert delta[4].direct_blockers == (3,)
    # Proof that 5 was not even looked at: a stale value below the cut-off stays untouched.
    stale = before | {5: Insight(True, (4,), (1,), 99, 0, True)}
    assert recompute_incremental(nodes, links, [6], stale) == delta


def assert_incremental_equals_full(before, after, links, changed):
    previous = compute_insights(before, links)
    delta = recompute_incremental(after, links, changed, previous)
    assert previous | delta == compute_insights(after, links)


@pytest.mark.usefixtures("incremental_walk")
def test_done_ticket_passes_on_that_its_upstream_emptied():
    # 1 -> 2 (done) -> 3 -> 4: finishing 1 unblocks 3, and 4 behind it.
    before = [ticket(1), ticket(2, done=True), ticket(3), ticket(4)]
    after = [ticket(1, done=True), *before[1:]]
    assert_incremental_equals_full(before, after, [(1, 2), (2, 3), (3, 4)], [1])


@pytest.mark.usefixtures("incremental_walk")
def test_depth_change_alone_is_passed_on():
    # 1 -> 2 -> 3 -> 4: finishing 2 changes only the depth of 3 (same roots, same teams).
    before = [ticket(1), ticket(2), ticket(3), ticket(4)]
    after = [before[0], ticket(2, done=True), *before[2:]]
    assert_incremental_equals_full(before, after, [(1, 2), (2, 3), (3, 4)], [2])


@pytest.mark.usefixtures("incremental_walk")
def test_root_change_alone_is_passed_on():
    # 1 -> 3 (done) and 2 -> 3, 3 -> 4 -> 5: finishing 2 changes only the roots of 4.
    before = [ticket(1), ticket(2), ticket(3, done=True), ticket(4), ticket(5)]
    after = [before[0], ticket(2, done=True), *before[2:]]
    assert_incremental_equals_full(before, after, [(1, 3), (2, 3), (3, 4), (4, 5)], [2])


@pytest.mark.usefixtures("incremental_walk")
def test_cross_team_change_alone_is_passed_on():
    # 1 -> 2 -> 3 -> 4, all ML: moving 2 to QA makes 3 (and 4 behind it) cross-team.
    before = [ticket(1), ticket(2), ticket(3), ticket(4)]
    after = [before[0], ticket(2, QA), *before[2:]]
    assert_incremental_equals_full(before, after, [(1, 2), (2, 3), (3, 4)], [2])


@pytest.mark.usefixtures("incremental_walk")
def test_new_ticket_missing_from_previous_is_computed():
    nodes, links = chain()
    before = compute_insights(nodes, links)
    delta = recompute_incremental([*nodes, ticket(40, QA)], [*links, (QA_1, 40)], [QA_1], before)
    assert delta[40] == Insight(True, (QA_1,), (LAB_1,), 4, 0, True)
    assert delta[LAB_1].downstream_count == 4


@pytest.mark.usefixtures("incremental_walk")
def test_removing_a_link_unblocks_the_ticket_below():
    nodes, links = chain()
    before = compute_insights(nodes, links)
    delta = recompute_incremental(nodes, links[1:], [LAB_1, ML_1], before)
    assert delta[ML_1] == Insight(False, (), (), 0, 2, False)
    assert delta[QA_1].root_blockers == (ML_1,)
    assert delta[LAB_1] == NOT_BLOCKED


def test_affected_ids_are_changed_tickets_their_descendants_and_ancestors():
    nodes_by_id = {i: ticket(i) for i in range(1, 7)}
    links = [(1, 2), (2, 3), (3, 4), (5, 6)]
    successors, predecessors = defaultdict(list), defaultdict(list)
    for blocker, blocked in links:
        successors[blocker].append(blocked)
        predecessors[blocked].append(blocker)
    assert affected_ids(nodes_by_id, successors, predecessors, [2, 99]) == {1, 2, 3, 4}


# --- find_cycle -----------------------------------------------------------------------------


def test_find_cycle_returns_the_named_cycle_in_order():
    successors = {1: [2], 2: [3], 3: [4]}
    assert find_cycle(successors, 4, 1) == [4, 1, 2, 3, 4]


def test_find_cycle_returns_the_shortest_cycle():
    successors = {1: [2, 3], 2: [3], 3: [4]}
    assert find_cycle(successors, 4, 1) == [4, 1, 3, 4]


def test_find_cycle_explores_successors_in_id_order_whatever_the_input_order():
    assert find_cycle({1: [3, 2], 2: [4], 3: [4]}, 4, 1) == [4, 1, 2, 4]


def test_find_cycle_refuses_a_self_link():
    assert find_cycle({}, 5, 5) == [5, 5]


def test_find_cycle_accepts_a_link_that_closes_no_cycle():
    assert find_cycle({1: [2], 2: [3]}, 1, 3) is None  # a shortcut, not a cycle
    assert find_cycle({1: [2], 3: [4]}, 2, 3) is None


def test_find_cycle_works_on_a_partial_successor_map():
    # Only what is reachable from `blocked` (2) is loaded: ticket 1's other links are unknown.
    assert find_cycle({2: [3], 3: [1]}, 1, 2) == [1, 2, 3, 1]


# --- link_health ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blocker", "blocked", "colour"),
    [
        (ticket(1, sprint=3), ticket(2, sprint=1), "red"),  # blocker planned later
        (ticket(1, sprint=None), ticket(2, sprint=1), "red"),  # blocker unplanned
        (ticket(1, sprint=2), ticket(2, sprint=2), "orange"),  # same sprint
        (ticket(1, sprint=1), ticket(2, sprint=2), "green"),  # blocker earlier
        (ticket(1, done=True, sprint=5), ticket(2, sprint=1), "green"),  # blocker done
        (ticket(1, sprint=5), ticket(2, sprint=None), "green"),  # blocked unplanned
        (ticket(1, sprint=None), ticket(2, sprint=None), "green"),  # both unplanned
        (ticket(1, sprint=5), ticket(2, done=True, sprint=1), "green"),  # blocked already done
    ],
)
def test_link_health_follows_the_program_board_rules(blocker, blocked, colour):
    assert link_health(blocker, blocked) == colour


# --- critical_path --------------------------------------------------------------------------


def diamond_plan() -> tuple[list[Node], list[tuple[int, int]]]:
    # A(2) -> B(3) -> D(1) and A -> C(1) -> D; E is done.
    nodes = [
        ticket(1, days=2.0),
        ticket(2, days=3.0),
        ticket(3, days=1.0),
        ticket(4, days=1.0),
        ticket(5, done=True),
    ]
    return nodes, [(1, 2), (1, 3), (2, 4), (3, 4), (5, 1)]


def test_critical_path_on_a_diamond_has_known_length_and_slack():
    assert critical_path(*diamond_plan()) == CriticalPath(
        path=(1, 2, 4), length_days=6.0, slack_days={1: 0.0, 2: 0.0, 3: 2.0, 4: 0.0}
    )


def test_critical_path_in_scope_keeps_order_through_tickets_outside_it():
    nodes, links = diamond_plan()
    nodes.append(ticket(6, days=10.0))
    links += [(2, 6), (6, 4)]  # B -> F -> D with F outside the scope: zero duration here
    result = critical_path(nodes, links, scope={2, 3, 4, 5})
    assert result == CriticalPath((2, 4), 4.0, {2: 0.0, 3: 2.0, 4: 0.0})


def test_critical_path_breaks_ties_on_lowest_id():
    nodes = [ticket(i, days=1.0) for i in (1, 2, 3, 4)]
    assert critical_path(nodes, [(3, 4), (1, 2)]).path == (1, 2)


def test_critical_path_of_empty_scope_is_empty():
    nodes, links = diamond_plan()
    assert critical_path(nodes, links, scope=set()) == CriticalPath((), 0.0, {})
    assert critical_path(nodes, links, scope={5}) == CriticalPath((), 0.0, {})


# --- properties on random DAGs ----------------------------------------------------------------


@st.composite
def backlogs(draw, max_tickets=12):
    """Tickets at positions 0..n-1 with shuffled ids; links only from lower to higher position
    (so acyclic)."""
    size = draw(st.integers(1, max_tickets))
    ids = draw(st.permutations(range(100, 100 + size)))
    nodes = [
        ticket(
            ids[position],
            draw(st.sampled_from([LAB, ML, QA])),
            done=draw(st.booleans()),
            days=draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
            sprint=draw(st.none() | st.integers(0, 3)),
        )
        for position in range(size)
    ]
    pairs = st.tuples(st.integers(0, size - 1), st.integers(0, size - 1))
    drawn = draw(st.lists(pairs, min_size=size // 2, max_size=3 * size))
    forward = sorted({(min(pair), max(pair)) for pair in drawn if pair[0] != pair[1]})
    return nodes, [(ids[a], ids[b]) for a, b in forward]


def brute_force_insights(nodes, links):
    """The definitions, spelled out: walk all ancestors / descendants of every ticket."""
    by_id = {node.id: node for node in nodes}
    preds, succs = defaultdict(set), defaultdict(set)
    for blocker, blocked in links:
        preds[blocked].add(blocker)
        succs[blocker].add(blocked)

    def closure(start, adjacency):
        seen, stack = set(), [start]
        while stack:
            for other in adjacency[stack.pop()]:
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        return seen

    def unfinished(ids):
        return {i for i in ids if not by_id[i].done}

    @functools.cache
    def longest_chain_behind(ticket_id):
        return max(
            (int(not by_id[p].done) + longest_chain_behind(p) for p in preds[ticket_id]),
            default=0,
        )

    insights = {}
    for node in nodes:
        if node.done:
            insights[node.id] = NOT_BLOCKED
            continue
        upstream = unfinished(closure(node.id, preds))
        insights[node.id] = Insight(
            blocked=bool(upstream),
            direct_blockers=tuple(sorted(unfinished(preds[node.id]))),
            root_blockers=tuple(sorted(u for u in upstream if not unfinished(closure(u, preds)))),
            depth=longest_chain_behind(node.id),
            downstream_count=len(unfinished(closure(node.id, succs))),
            cross_team=any(by_id[u].team_id != node.team_id for u in upstream),
        )
    return insights


@settings(max_examples=400, deadline=None)
@given(backlogs())
def test_compute_insights_matches_the_definitions_on_random_dags(backlog):
    nodes, links = backlog
    assert compute_insights(nodes, links) == brute_force_insights(nodes, links)


CHANGES = st.lists(
    st.tuples(
        # Weighted towards the changes that move insights most.
        st.sampled_from(
            ["toggle_done"] * 3
            + ["add_link", "remove_link"] * 2
            + ["days", "sprint", "team", "add", "delete"]
        ),
        st.integers(0, 1000),
        st.integers(0, 1000),
    ),
    min_size=1,
    max_size=3,
)


class Backlog:
    """A backlog kept acyclic by ordering tickets: links only go from earlier to later ones.
    Each change returns the ids a caller would report as changed."""

    def __init__(self, nodes, links):
        self.order = [node.id for node in nodes]
        self.nodes = {node.id: node for node in nodes}
        self.links = list(links)
        self.next_id = 1000

    def apply(self, kind, a, b) -> set[int]:
        if not self.order and kind != "add":
            return set()
        return getattr(self, kind)(a, b)

    def _edit(self, a, **changes) -> set[int]:
        ticket_id = self.order[a % len(self.order)]
        self.nodes[ticket_id] = replace(self.nodes[ticket_id], **changes)
        return {ticket_id}

    def toggle_done(self, a, _b):
        done = not self.nodes[self.order[a % len(self.order)]].done
        return self._edit(a, done=done, remaining_days=0.0 if done else 1.5)

    def days(self, a, b):
        return self._edit(a, remaining_days=float(b % 5))

    def sprint(self, a, b):
        return self._edit(a, sprint_rank=None if b % 4 == 0 else b % 4)

    def team(self, a, b):
        return self._edit(a, team_id=[LAB, ML, QA][b % 3])

    def add_link(self, a, b):
        low, high = sorted((a % len(self.order), b % len(self.order)))
        link = (self.order[low], self.order[high])
        if low == high or link in self.links:
            return set()
        self.links.append(link)
        return set(link)

    def remove_link(self, a, _b):
        return set(self.links.pop(a % len(self.links))) if self.links else set()

    def add(self, _a, b):
        self.next_id += 1
        self.order.append(self.next_id)
        self.nodes[self.next_id] = ticket(self.next_id, [LAB, ML, QA][b % 3], done=b % 2 == 0)
        return {self.next_id}

    def delete(self, a, _b):
        ticket_id = self.order.pop(a % len(self.order))
        del self.nodes[ticket_id]
        neighbours = {other for link in self.links if ticket_id in link for other in link}
        self.links = [link for link in self.links if ticket_id not in link]
        return neighbours | {ticket_id}  # the deleted id itself is simply ignored

    def node_list(self):
        return [self.nodes[ticket_id] for ticket_id in self.order]


def replay_incrementally(backlog, steps):
    state = Backlog(*backlog)
    insights = compute_insights(state.node_list(), state.links)
    for changes in steps:
        changed = set().union(*(state.apply(*change) for change in changes))
        delta = recompute_incremental(state.node_list(), state.links, changed, insights)
        assert all(insights.get(ticket_id) != new for ticket_id, new in delta.items())
        insights = {i: insights[i] for i in state.nodes if i in insights} | delta
        assert insights == compute_insights(state.node_list(), state.links)


@settings(max_examples=1000, deadline=None)
@given(backlogs(), st.lists(CHANGES, min_size=1, max_size=8))
def test_incremental_results_applied_step_by_step_equal_a_full_recompute(backlog, steps):
    # Small graphs are mostly "affected": force the incremental walk, never the fallback.
    with patch.object(graph, "_FULL_RECOMPUTE_SHARE", 1.0):
        replay_incrementally(backlog, steps)


@settings(max_examples=100, deadline=None)
@given(backlogs(), st.lists(CHANGES, min_size=1, max_size=4))
def test_incremental_falling_back_to_a_full_pass_returns_the_same_changes(backlog, steps):
    with patch.object(graph, "_FULL_RECOMPUTE_SHARE", 0.0):
        replay_incrementally(backlog, steps)


@settings(max_examples=200, deadline=None)
@given(backlogs(), st.lists(CHANGES, min_size=1, max_size=3))
def test_tickets_whose_insight_changed_are_among_the_affected_ids(backlog, steps):
    state = Backlog(*backlog)
    insights = compute_insights(state.node_list(), state.links)
    for changes in steps:
        changed = set().union(*(state.apply(*change) for change in changes))
        fresh = compute_insights(state.node_list(), state.links)
        successors, predecessors = defaultdict(list), defaultdict(list)
        for blocker, blocked in state.links:
            successors[blocker].append(blocked)
            predecessors[blocked].append(blocker)
        moved = {i for i, insight in fresh.items() if insights.get(i) != insight}
        assert moved <= affected_ids(state.nodes, successors, predecessors, changed)
        insights = fresh


def region_of(nodes_by_id, links, changed, previous, *, as_ticket_states=False):
    """What the database reader hands recompute_region: the cone (the changed tickets, their
    ancestors, all below those), the feeders of the changed tickets' descendants (through done
    ones), the links it promises, the stored insights of the descendants and unfinished
    feeders, and the stored downstream_count of the other ancestors."""
    successors, predecessors = defaultdict(set), defaultdict(set)
    for blocker, blocked in links:
        successors[blocker].add(blocked)
        predecessors[blocked].add(blocker)
    changed = {i for i in changed if i in nodes_by_id}
    above = graph._reachable_ids(predecessors, changed)
    cone = graph._reachable_ids(successors, above)
    below = graph._reachable_ids(successors, changed)
    feeders = {p for v in below for p in predecessors[v]} - below
    stack = [f for f in feeders if nodes_by_id[f].done]
    while stack:
        for p in predecessors[stack.pop()]:
            if p not in feeders:
                feeders.add(p)
                if nodes_by_id[p].done:
                    stack.append(p)
    tickets = [nodes_by_id[i] for i in cone | feeders]
    if as_ticket_states:  # what the database reader passes: no estimate, no sprint
        tickets = [graph.TicketState(n.id, n.team_id, n.done) for n in tickets]
    promised = [
        (a, b)
        for a, b in links
        if a in cone or b in below or (b in feeders and nodes_by_id[b].done)
    ]
    whole = below | {f for f in feeders if not nodes_by_id[f].done}
    stored = {i: previous[i] for i in whole if i in previous}
    counts = {i: previous[i].downstream_count for i in above - whole if i in previous}
    return tickets, promised, stored, counts


def apply_region_delta(insights, delta):
    insights = insights | delta.insights
    for ticket_id, count in delta.downstream_counts.items():
        assert insights[ticket_id].downstream_count != count
        insights[ticket_id] = replace(insights[ticket_id], downstream_count=count)
    return insights


@settings(max_examples=1000, deadline=None)
@given(backlogs(), st.lists(CHANGES, min_size=1, max_size=8), st.booleans())
def test_region_recompute_applied_step_by_step_equals_a_full_recompute(
    backlog, steps, as_ticket_states
):
    state = Backlog(*backlog)
    insights = compute_insights(state.node_list(), state.links)
    for changes in steps:
        changed = set().union(*(state.apply(*change) for change in changes))
        tickets, links, stored, counts = region_of(
            state.nodes, state.links, changed, insights, as_ticket_states=as_ticket_states
        )
        delta = recompute_region(tickets, links, changed, stored, counts)
        assert all(stored.get(ticket_id) != new for ticket_id, new in delta.insights.items())
        assert not delta.downstream_counts.keys() & (stored.keys() | changed)
        insights = {i: insights[i] for i in state.nodes if i in insights}
        insights = apply_region_delta(insights, delta)
        assert insights == compute_insights(state.node_list(), state.links)


STATUS_CHANGES = st.lists(
    st.tuples(
        st.sampled_from(["toggle_done"] * 4 + ["team", "days", "sprint"]),
        st.integers(0, 1000),
        st.integers(0, 1000),
    ),
    min_size=1,
    max_size=4,
)


def below_region_of(nodes_by_id, links, changed, previous):
    """What the database reader hands recompute_below: the changed tickets, their descendants,
    their feeders (through done ones); the links it promises; the stored insights of the
    descendants and unfinished feeders. And the descendants, whose counts it recomputes."""
    successors, predecessors = defaultdict(set), defaultdict(set)
    for blocker, blocked in links:
        successors[blocker].add(blocked)
        predecessors[blocked].add(blocker)
    below = graph._reachable_ids(successors, changed)
    feeders = {p for v in below for p in predecessors[v]} - below
    stack = [f for f in feeders if nodes_by_id[f].done]
    while stack:
        for p in predecessors[stack.pop()]:
            if p not in feeders:
                feeders.add(p)
                if nodes_by_id[p].done:
                    stack.append(p)
    tickets = [nodes_by_id[i] for i in below | feeders]
    promised = [
        (a, b)
        for a, b in links
        if a in below or b in below or (b in feeders and nodes_by_id[b].done)
    ]
    whole = below | {f for f in feeders if not nodes_by_id[f].done}
    stored = {i: previous[i] for i in whole if i in previous}
    return tickets, promised, stored, below, predecessors


@settings(max_examples=1000, deadline=None)
@given(backlogs(), st.lists(STATUS_CHANGES, min_size=1, max_size=8))
def test_status_changes_below_plus_one_per_flip_on_the_ancestors_equal_a_full_recompute(
    backlog, steps
):
    """What services._recompute_below does: recompute_below for the changed tickets and their
    descendants, and +/-1 per flipped ticket on each other ancestor, where the stored count is
    that of an unfinished ticket. Diamonds, a ticket flipped twice, flipped ancestors of
    flipped tickets: all in the random steps."""
    state = Backlog(*backlog)
    insights = compute_insights(state.node_list(), state.links)
    done_before = {i: node.done for i, node in state.nodes.items()}
    for changes in steps:
        changed = set().union(*(state.apply(*change) for change in changes))
        tickets, links, stored, below, predecessors = below_region_of(
            state.nodes, state.links, changed, insights
        )
        delta = recompute_below(tickets, links, changed, stored)
        assert all(stored[ticket_id] != new for ticket_id, new in delta.items())
        assert delta.keys() <= below
        moved = defaultdict(int)
        for ticket_id in changed:
            if state.nodes[ticket_id].done != done_before[ticket_id]:
                step = -1 if state.nodes[ticket_id].done else 1
                for ancestor in graph._reachable_ids(predecessors, {ticket_id}) - below:
                    moved[ancestor] += step
        insights = dict(insights)
        for ancestor, step in moved.items():
            if step and not done_before[ancestor]:  # its stored done-state
                insights[ancestor] = replace(
                    insights[ancestor], downstream_count=insights[ancestor].downstream_count + step
                )
        insights |= delta
        assert insights == compute_insights(state.node_list(), state.links)
        done_before = {i: node.done for i, node in state.nodes.items()}


def test_recompute_below_counts_an_ancestor_below_another_change_exactly():
    # 1 -> 2 -> 3 -> 4; 2 and 4 finish together. 3, below 2 and above 4, is recounted from
    # below (0 left), not moved by -1: the +/-1 is only for ancestors outside the region.
    nodes = [ticket(1), ticket(2), ticket(3), ticket(4)]
    links = [(1, 2), (2, 3), (3, 4)]
    before = compute_insights(nodes, links)
    after = [nodes[0], ticket(2, done=True), nodes[2], ticket(4, done=True)]
    delta = recompute_below(after, links, [2, 4], before)
    assert delta == {
        2: NOT_BLOCKED,
        3: Insight(True, (), (1,), 1, 0, False),
        4: NOT_BLOCKED,
    }


@pytest.mark.usefixtures("incremental_walk")
def test_region_recompute_equals_the_incremental_walk_on_the_whole_graph():
    nodes, links = chain()
    before = compute_insights(nodes, links)
    after = [*nodes[:2], ticket(ML_2, ML, done=True), nodes[3]]  # ML-2 is done
    by_id = {node.id: node for node in after}
    tickets, promised, stored, counts = region_of(by_id, links, {ML_2}, before)
    delta = recompute_region(tickets, promised, [ML_2], stored, counts)
    with patch.object(graph, "_FULL_RECOMPUTE_SHARE", 1.0):
        expected = recompute_incremental(after, links, [ML_2], before)
    assert apply_region_delta(before, delta) == before | expected
    # LAB-1, above ML-2 and feeding nothing below it, is known by its count alone.
    assert delta.downstream_counts == {LAB_1: 2}
    assert set(delta.insights) == {ML_1, ML_2, QA_1}


def test_region_recompute_reads_through_done_feeders_and_needs_their_insights():
    # 1 (unfinished feeder) -> 2 (done feeder) -> 3 -> 4, all ML; 3 moves to team LAB.
    nodes = [ticket(1), ticket(2, done=True), ticket(3, LAB), ticket(4)]
    links = [(1, 2), (2, 3), (3, 4)]
    before = compute_insights([*nodes[:2], ticket(3), nodes[3]], links)
    delta = recompute_region(nodes, links, [3], before)
    assert delta.insights == {
        3: Insight(True, (), (1,), 1, 1, True),  # waits on ML-team 1 through the done 2
        4: Insight(True, (3,), (1,), 2, 0, True),
    }
    assert not delta.downstream_counts
    with pytest.raises(KeyError):  # the unfinished feeder's stored insight is required
        recompute_region(nodes, links, [3], {i: before[i] for i in (2, 3, 4)})


def has_cycle(ids, links) -> bool:
    """Independent check: depth-first search with white/grey/black colouring."""
    successors = defaultdict(list)
    for blocker, blocked in links:
        successors[blocker].append(blocked)
    colour = dict.fromkeys(ids, "white")
    for start in ids:
        if colour[start] != "white":
            continue
        colour[start] = "grey"
        stack = [(start, iter(successors[start]))]
        while stack:
            ticket_id, pending = stack[-1]
            nxt = next(pending, None)
            if nxt is None:
                colour[ticket_id] = "black"
                stack.pop()
            elif colour[nxt] == "grey":
                return True
            elif colour[nxt] == "white":
                colour[nxt] = "grey"
                stack.append((nxt, iter(successors[nxt])))
    return False


def shortest_distance(links, start, goal):
    successors = defaultdict(list)
    for blocker, blocked in links:
        successors[blocker].append(blocked)
    distance, queue = {start: 0}, deque([start])
    while queue:
        current = queue.popleft()
        for nxt in successors[current]:
            if nxt not in distance:
                distance[nxt] = distance[current] + 1
                queue.append(nxt)
    return distance.get(goal)


@settings(max_examples=200, deadline=None)
@given(backlogs(), st.integers(0, 1000), st.integers(0, 1000))
def test_find_cycle_never_admits_a_cycle_nor_refuses_an_acyclic_link(backlog, a, b):
    nodes, links = backlog
    blocker, blocked = nodes[a % len(nodes)].id, nodes[b % len(nodes)].id
    successors = defaultdict(list)
    for link in links:
        successors[link[0]].append(link[1])
    cycle = find_cycle(successors, blocker, blocked)
    with_link = [*links, (blocker, blocked)]
    assert (cycle is None) == (not has_cycle([node.id for node in nodes], with_link))
    if cycle is not None:
        assert cycle[:2] == [blocker, blocked] and cycle[-1] == blocker
        assert all(step in with_link for step in pairwise(cycle))
        if blocker != blocked:
            assert len(cycle) - 2 == shortest_distance(links, blocked, blocker)


@settings(max_examples=100, deadline=None)
@given(backlogs())
def test_critical_path_is_a_longest_chain_and_has_zero_slack(backlog):
    nodes, links = backlog
    by_id = {node.id: node for node in nodes}
    preds = defaultdict(set)
    for blocker, blocked in links:
        preds[blocked].add(blocker)

    @functools.cache
    def finish(ticket_id):  # done tickets take no time but keep ordering
        return by_id[ticket_id].remaining_days + max(map(finish, preds[ticket_id]), default=0.0)

    result = critical_path(nodes, links)
    open_ids = [node.id for node in nodes if not node.done]
    assert result.length_days == max(map(finish, open_ids), default=0.0)
    assert set(result.slack_days) == set(open_ids)
    assert all(slack >= 0 for slack in result.slack_days.values())
    assert all(result.slack_days[ticket_id] == 0 for ticket_id in result.path)
    assert sum(by_id[ticket_id].remaining_days for ticket_id in result.path) == pytest.approx(
        result.length_days
    )
