"""Dependency-graph analytics for Sprintplan: who is blocked, by whom, how deep, what is critical.

Pure standard library (no Django), so it can be property-tested and benchmarked on its own.

Semantics (a link ``(blocker_id, blocked_id)`` is finish-to-start):

* Done tickets are *transparent*: they block nobody, but they do not hide what is upstream of
  them. In ``A (open) -> B (done) -> C (open)``, C is blocked by A; A is C's root blocker, C has
  depth 1 and A has downstream_count 1 (C), although C has no *direct* blocker.
* A done ticket itself always gets the neutral insight: not blocked, no blockers, depth 0,
  downstream_count 0 (nobody waits on finished work), cross_team False.
* Every algorithm is iterative (backlogs hold chains hundreds of tickets deep) and works on
  list positions rather than ids (see ``_Index``).
"""

import gc
from collections.abc import Iterable, Iterator, Mapping, MutableSequence, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Node:
    id: int
    key: str  # e.g. "LAB-1"
    team_id: int
    done: bool
    remaining_days: float  # remaining size / team daily rate; 0 when done
    sprint_rank: int | None  # position of the ticket's sprint in time order; None = backlog


class TicketState(NamedTuple):
    """What a ticket's insight depends on (its estimate and sprint move none): the shape a
    region recompute reads. Where a Node is accepted for insights, a TicketState is too."""

    id: int
    team_id: int | None
    done: bool


@dataclass(frozen=True, slots=True)
class Insight:
    blocked: bool  # some unfinished ticket is upstream (transitively, through done ones)
    direct_blockers: tuple[int, ...]  # unfinished direct blockers, ascending ids
    root_blockers: tuple[int, ...]  # unfinished upstream tickets not blocked themselves, ascending
    depth: int  # unfinished tickets on the longest chain behind it (0 when not blocked)
    downstream_count: int  # distinct unfinished tickets that transitively wait on it
    cross_team: bool  # its unfinished upstream holds a ticket of another team


@dataclass(frozen=True, slots=True)
class CriticalPath:
    path: tuple[int, ...]  # ids, upstream first
    length_days: float
    slack_days: dict[int, float]  # per unfinished ticket in scope


Link = tuple[int, int]  # (blocker_id, blocked_id)


class DependencyCycleError(ValueError):
    """The links given to a whole-graph computation contain a cycle (ids in ``cycle``)."""

    def __init__(self, cycle: list[int]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join(map(str, cycle)))


_DONE_INSIGHT = Insight(False, (), (), 0, 0, False)
_NO_ROOTS: frozenset[int] = frozenset()
_MANY_TEAMS = object()  # team summary of an upstream holding two or more teams
_NO_TEAM = object()  # team summary of an empty upstream (team ids may be None in the DB)
# Above this share of the graph an incremental recompute falls back to the full pass.
_FULL_RECOMPUTE_SHARE = 0.4
# Slack is a difference of float sums: round away the last-bit noise so critical tickets read 0.
_SLACK_DIGITS = 9

# What a ticket passes to its successors: (number of unfinished tickets on the longest chain
# ending at it, unfinished root blockers at or above it, team summary at or above it).
type _Carry = tuple[int, frozenset[int], object]
_EMPTY_CARRY: _Carry = (0, _NO_ROOTS, _NO_TEAM)


class _Index:
    """Tickets at positions 0..n-1 with successor / predecessor lists of positions."""

    __slots__ = ("done", "ids", "nodes", "pos", "pred", "succ", "teams")

    def __init__(self, nodes: Iterable[Node], links: Iterable[Link]) -> None:
        by_id = {node.id: node for node in nodes}  # a repeated id: the last one wins
        self.nodes = list(by_id.values())
        self.ids = list(by_id)
        self.pos = {ticket_id: position for position, ticket_id in enumerate(self.ids)}
        self.done = [node.done for node in self.nodes]
        self.teams = [node.team_id for node in self.nodes]
        self.succ: list[list[int]] = [[] for _ in self.ids]
        self.pred: list[list[int]] = [[] for _ in self.ids]
        position_of = self.pos.get
        for blocker_id, blocked_id in links:
            blocker, blocked = position_of(blocker_id), position_of(blocked_id)
            if blocker is not None and blocked is not None:  # links to unknown tickets: ignored
                self.succ[blocker].append(blocked)
                self.pred[blocked].append(blocker)

    def put(self, ticket: "Node | TicketState") -> None:
        """Set a ticket's team and done-state; a ticket not indexed yet is added, unlinked."""
        position = self.pos.get(ticket.id)
        if position is None:
            self.pos[ticket.id] = len(self.ids)
            self.ids.append(ticket.id)
            self.nodes.append(ticket)
            self.done.append(ticket.done)
            self.teams.append(ticket.team_id)
            self.succ.append([])
            self.pred.append([])
        else:
            self.nodes[position] = ticket
            self.done[position] = ticket.done
            self.teams[position] = ticket.team_id


# An index kept by a caller across recomputes (dependencies.mirror).
GraphIndex = _Index


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC during a pass. The passes allocate ~10 acyclic objects per ticket;
    the collections that triggers rescan the whole heap (index, caller's data) again and again:
    +20-40% at 100k tickets. One collection after the pass does the same job. Only timing
    changes if several threads nest this (the first to finish re-enables the GC)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Public for callers whose own reading allocates as much per ticket (a region read).
gc_paused = _gc_paused


# --- public API ---------------------------------------------------------------------------------


def compute_insights(nodes: Iterable[Node], links: Iterable[Link]) -> dict[int, Insight]:
    """Insight of every ticket, from scratch. Links to unknown tickets are ignored.

    Raises DependencyCycleError if the links contain a cycle.
    """
    with _gc_paused():
        return _insights_on_index(_Index(nodes, links))


def _insights_on_index(index: _Index) -> dict[int, Insight]:
    order = _topological_order(index)
    upstream = _upstream_pass(index, order)
    unread = [len(preds) for preds in index.pred]
    downstream = _downstream_counts(index, reversed(order), _component_bits(index), unread)
    insights = dict.fromkeys(index.ids, _DONE_INSIGHT)
    builder = _InsightBuilder(index)
    for v in downstream:  # exactly the unfinished tickets
        insights[index.ids[v]] = builder.build(v, upstream[v], downstream[v])
    return insights


def affected_ids(
    nodes_by_id: Mapping[int, Node],
    successors: Mapping[int, Iterable[int]],
    predecessors: Mapping[int, Iterable[int]],
    changed_ids: Iterable[int],
) -> set[int]:
    """Tickets whose insight may change when `changed_ids` changed: the changed tickets, their
    descendants (blocked/roots/depth/cross_team flow down) and ancestors (downstream_count
    flows up). Adjacency maps id -> ids, on the graph after the change."""
    changed = {ticket_id for ticket_id in changed_ids if ticket_id in nodes_by_id}
    below = _reachable_ids(successors, changed)
    above = _reachable_ids(predecessors, changed)
    return {ticket_id for ticket_id in below | above if ticket_id in nodes_by_id}


def recompute_incremental(
    nodes: Iterable[Node],
    links: Iterable[Link],
    changed_ids: Iterable[int],
    previous: Mapping[int, Insight],
) -> dict[int, Insight]:
    """Insights that differ from `previous` after a change, computing only affected tickets.

    `previous` must be correct for the graph before the change; `changed_ids` must hold every
    ticket whose status or team changed (size and sprint move no insight, listing them is
    harmless) and both endpoints of every added or removed link (for a deleted ticket: its
    former neighbours). Tickets missing from `previous` count as changed. Overlaying the result
    on `previous` equals compute_insights(nodes, links). Falls back to a full pass, diffed,
    when the change reaches most of the graph.
    """
    with _gc_paused():
        return _recompute_on_index(_Index(nodes, links), changed_ids, previous)


class RegionDelta(NamedTuple):
    """What a region recompute moved (see recompute_region)."""

    insights: dict[int, Insight]  # new insights that differ from the stored ones
    downstream_counts: dict[int, int]  # new downstream_count of ancestors, where it moved


def recompute_region(
    tickets: Iterable[Node | TicketState],
    links: Iterable[Link],
    changed_ids: Iterable[int],
    stored: Mapping[int, Insight],
    stored_counts: Mapping[int, int] | None = None,
) -> RegionDelta:
    """recompute_incremental() from only the region of the graph a change can move.

    That region: the changed tickets and their descendants, whose every fact may move; their
    ancestors, whose downstream_count alone may move (counted again exactly, so all that is
    below them is needed: with the rest, the "cone"); and the tickets feeding the changed
    tickets' descendants from outside them (through done ones, which are transparent).

    * `tickets`: the cone and those feeders (TicketState is enough: estimates and sprints
      move no insight). Links to other tickets are ignored.
    * `links`: every link out of a cone ticket, and every link into a changed ticket, a
      descendant of one, or a done feeder.
    * `stored`: the stored insights, correct before the change, of the changed tickets'
      descendants and of the unfinished feeders (a changed ticket may lack one);
      `stored_counts`: the stored downstream_count of the unfinished ancestors, unless
      `stored` has their insight. KeyError if one is missing.
    * `changed_ids`: as for recompute_incremental().

    Returns the insights that differ from `stored`, and for the ancestors known only by their
    count, the counts that differ. Applied to the stored insights of the whole graph, the
    result equals compute_insights() on it.
    """
    with _gc_paused():
        index = _Index(tickets, links)
        pos = index.pos
        changed = {pos[ticket_id] for ticket_id in changed_ids if ticket_id in pos}
        if not changed:
            return RegionDelta({}, {})
        moved_counts: dict[int, int] = {}
        insights = _recompute_around(
            index, changed, stored, *_cone(index, changed), stored_counts or {}, moved_counts
        )
        return RegionDelta(insights, moved_counts)


def recompute_below(
    tickets: Iterable[Node | TicketState],
    links: Iterable[Link],
    changed_ids: Iterable[int],
    stored: Mapping[int, Insight],
) -> dict[int, Insight]:
    """recompute_region() for a change that moved no link, without the ancestors' counts.

    When only tickets' done-state or team changed, the ancestors' downstream_count moves by a
    known amount: every ticket whose done-state flipped enters or leaves each of its
    unfinished ancestors' set of descendants exactly once, however many paths lead there (the
    sets themselves do not move). Their other facts depend only on what is above them. So the
    caller applies that +/-1 to the ancestors that are not below a changed ticket, and this
    recomputes the rest: the changed tickets and their descendants (every fact; the counts
    exactly, from below), which is all it needs with what feeds them.

    * `tickets`: the changed tickets, their descendants, and the tickets feeding those from
      outside (through done ones).
    * `links`: every link out of a changed ticket or a descendant, and every link into one or
      into a done feeder.
    * `stored`: as for recompute_region() (the changed tickets' insights are needed to tell
      what moved; one missing counts as changed anyway).

    Returns the insights that differ from `stored`. Wrong for a change of links: use
    recompute_region().
    """
    with _gc_paused():
        index = _Index(tickets, links)
        pos = index.pos
        changed = {pos[ticket_id] for ticket_id in changed_ids if ticket_id in pos}
        if not changed:
            return {}
        below = _reachable(index.succ, changed)
        # Ancestors of a changed ticket that are below another: counted exactly here.
        above = _reachable_within(index.pred, changed, below)
        return _recompute_around(index, changed, stored, above, below)


def recompute_below_indexed(
    index: GraphIndex, changed_ids: Iterable[int], stored: Mapping[int, Insight]
) -> dict[int, Insight]:
    """recompute_below() on an index of the whole graph that the caller keeps (with the
    changed tickets' new state put in it), and every stored insight: only what is below the
    changed tickets is walked, and above them only what feeds a ticket whose insight may
    move (the early cut-off). KeyError if a stored insight that is needed is missing."""
    with _gc_paused():
        pos = index.pos
        changed = {pos[ticket_id] for ticket_id in changed_ids if ticket_id in pos}
        if not changed:
            return {}
        below = _reachable(index.succ, changed)
        above = _reachable_within(index.pred, changed, below)
        return _recompute_around(index, changed, stored, above, below)


def recompute_incremental_indexed(
    index: GraphIndex, changed_ids: Iterable[int], previous: Mapping[int, Insight]
) -> dict[int, Insight]:
    """recompute_incremental() on an index of the whole graph that the caller keeps (with the
    changed tickets' new state put in it): every ancestor of a changed ticket is counted
    again, so unlike recompute_below_indexed() it needs no done-state that the previous
    counts were computed for. Up to a full pass when the change reaches most of the graph."""
    with _gc_paused():
        return _recompute_on_index(index, changed_ids, previous)


def find_cycle(
    successors: Mapping[int, Iterable[int]], blocker: int, blocked: int
) -> list[int] | None:
    """The cycle that the link blocker -> blocked would close, else None.

    Returned as ``[blocker, blocked, ..., blocker]`` along a shortest path (BFS from `blocked`,
    stopping at `blocker`, successors visited in ascending id order). A self-link gives
    ``[blocker, blocker]``. `successors` may cover only the region reachable from `blocked`.
    """
    if blocker == blocked:
        return [blocker, blocker]
    came_from: dict[int, int] = {blocked: blocked}
    frontier = [blocked]
    while frontier:
        next_frontier = []
        for ticket in frontier:
            for successor in sorted(successors.get(ticket, ())):
                if successor in came_from:
                    continue
                came_from[successor] = ticket
                if successor == blocker:
                    return [blocker, *_path_back(came_from, blocker, blocked)]
                next_frontier.append(successor)
        frontier = next_frontier
    return None


def link_health(blocker: Node, blocked: Node) -> str:
    """SAFe program-board colour of a link: "red", "orange" or "green".

    green: blocker or blocked done, blocked unplanned, or blocker in an earlier sprint;
    orange: same sprint; red: blocker in a later sprint, or unplanned while blocked is planned.
    """
    if blocker.done or blocked.done or blocked.sprint_rank is None:
        return "green"
    if blocker.sprint_rank is None or blocker.sprint_rank > blocked.sprint_rank:
        return "red"
    if blocker.sprint_rank == blocked.sprint_rank:
        return "orange"
    return "green"


def critical_path(
    nodes: Iterable[Node], links: Iterable[Link], scope: set[int] | None = None
) -> CriticalPath:
    """Critical path (CPM) through the unfinished tickets, limited to `scope` when given.

    Durations are remaining_days. Tickets outside the analysis (done, or unfinished outside
    `scope`) count as zero-duration steps, so ordering through them still holds. Ties go to
    the lowest id. Slack is keyed by the unfinished tickets in scope, ascending ids. Raises
    DependencyCycleError if the links contain a cycle.
    """
    with _gc_paused():
        return _critical_path_on_index(_Index(nodes, links), scope)


def _critical_path_on_index(index: _Index, scope: set[int] | None) -> CriticalPath:
    tasks = {
        v
        for v, node in enumerate(index.nodes)
        if not node.done and (scope is None or node.id in scope)
    }
    if not tasks:
        return CriticalPath((), 0.0, {})
    # Whole-graph passes over plain lists: a sprint's tasks are spread over the backlog, so
    # the region between them is most of the graph anyway, and lists beat sets and dicts.
    order = _topological_order(index)
    duration = [0.0] * len(order)
    for v in tasks:
        duration[v] = index.nodes[v].remaining_days
    start, finish = _earliest_times(index, order, duration)
    length = max(finish[v] for v in tasks)
    latest = _latest_finishes(index, order, duration, length)
    slack = {index.ids[v]: max(0.0, round(latest[v] - finish[v], _SLACK_DIGITS)) for v in tasks}
    path = _longest_chain(index, tasks, start, finish, length)
    return CriticalPath(tuple(path), length, dict(sorted(slack.items())))


# --- graph walks ------------------------------------------------------------------------------


def _reachable_ids(adjacency: Mapping[int, Iterable[int]], starts: set[int]) -> set[int]:
    seen = set(starts)
    stack = list(starts)
    while stack:
        for neighbour in adjacency.get(stack.pop(), ()):
            if neighbour not in seen:
                seen.add(neighbour)
                stack.append(neighbour)
    return seen


def _reachable(adjacency: list[list[int]], starts: Iterable[int]) -> set[int]:
    """Positions reachable from `starts` (included) along `adjacency`."""
    seen = set(starts)
    stack = list(seen)
    while stack:
        for neighbour in adjacency[stack.pop()]:
            if neighbour not in seen:
                seen.add(neighbour)
                stack.append(neighbour)
    return seen


# Public for an index kept by a caller (dependencies.mirror).
reachable = _reachable


def _reachable_within(adjacency: list[list[int]], starts: set[int], within: set[int]) -> set[int]:
    """Positions reachable from `starts` (included) along `adjacency` without leaving
    `within`."""
    seen = set(starts)
    stack = list(seen)
    while stack:
        for neighbour in adjacency[stack.pop()]:
            if neighbour not in seen and neighbour in within:
                seen.add(neighbour)
                stack.append(neighbour)
    return seen


def _path_back(came_from: dict[int, int], end: int, start: int) -> list[int]:
    path = [end]
    while path[-1] != start:
        path.append(came_from[path[-1]])
    path.reverse()
    return path


def _topological_order(index: _Index) -> list[int]:
    """Kahn's algorithm over the whole index."""
    indegree = [len(preds) for preds in index.pred]
    order = [v for v, count in enumerate(indegree) if not count]
    succ = index.succ
    for v in order:  # the list grows while we walk it: it is also Kahn's queue
        for s in succ[v]:
            indegree[s] -= 1
            if not indegree[s]:
                order.append(s)
    if len(order) < len(indegree):
        raise DependencyCycleError(_cycle_among(index, {v for v, c in enumerate(indegree) if c}))
    return order


def _topological_order_within(index: _Index, region: set[int]) -> list[int]:
    """Kahn's algorithm over the subgraph induced by `region`."""
    succ = index.succ
    indegree = dict.fromkeys(region, 0)
    for v in region:
        for s in succ[v]:
            if s in indegree:
                indegree[s] += 1
    order = [v for v, count in indegree.items() if not count]
    for v in order:
        for s in succ[v]:
            if s in indegree:
                indegree[s] -= 1
                if not indegree[s]:
                    order.append(s)
    if len(order) < len(region):
        raise DependencyCycleError(_cycle_among(index, {v for v, c in indegree.items() if c}))
    return order


def _cycle_among(index: _Index, stuck: set[int]) -> list[int]:
    """A cycle inside the tickets Kahn could not order (each has a stuck predecessor)."""
    walk = [min(stuck)]
    seen = {walk[0]: 0}
    while True:
        v = min(p for p in index.pred[walk[-1]] if p in stuck)
        if v in seen:
            cycle = [*walk[seen[v] :], v]
            return [index.ids[p] for p in reversed(cycle)]
        seen[v] = len(walk)
        walk.append(v)


# --- upstream facts: blocked, roots, depth, cross_team ------------------------------------------


def _upstream_pass(index: _Index, order: list[int]) -> list[_Carry]:
    """For every ticket, the merged carry of its predecessors (what flows down into it)."""
    pred = index.pred
    inflow: list[_Carry] = [_EMPTY_CARRY] * len(order)
    outflow: list[_Carry] = [_EMPTY_CARRY] * len(order)
    for v in order:
        incoming = _merge_carries(pred[v], outflow)
        inflow[v] = incoming
        outflow[v] = _carry_out(index, v, incoming)
    return inflow


def _merge_carries(preds: list[int], outflow: Sequence[_Carry] | Mapping[int, _Carry]) -> _Carry:
    """Union of what the predecessors pass on. A single contributor is passed through as is:
    on chains that is the common case, and sharing keeps memory flat however deep they go."""
    first: _Carry | None = None
    others: list[_Carry] = []
    for p in preds:
        carry = outflow[p]
        if not carry[0]:
            continue  # nothing unfinished at or above this predecessor
        if first is None:
            first = carry
        elif carry is not first:
            others.append(carry)
    if first is None:
        return _EMPTY_CARRY
    return _combine_carries(first, others) if others else first


def _combine_carries(first: _Carry, others: list[_Carry]) -> _Carry:
    longest, roots, team = first
    for chain, more_roots, carried_team in others:
        if chain > longest:
            longest = chain
        # Reuse a root set that already holds the other: chains and diamonds share sets.
        if more_roots is not roots and not more_roots <= roots:
            roots = more_roots if more_roots >= roots else roots | more_roots
        if carried_team != team:
            team = _MANY_TEAMS
    return longest, roots, team


def _carry_out(index: _Index, v: int, incoming: _Carry) -> _Carry:
    """What a ticket passes on, given what flows into it."""
    if index.done[v]:
        return incoming  # done tickets are transparent
    chain, roots, team = incoming
    own_team = index.teams[v]
    if not chain:
        return 1, frozenset((index.ids[v],)), own_team
    return chain + 1, roots, team if team == own_team else _MANY_TEAMS


def _carry_from_insight(index: _Index, v: int, insight: Insight) -> _Carry:
    """Rebuild an unfinished ticket's outgoing carry from its stored insight."""
    own_team = index.teams[v]
    if not insight.blocked:
        return 1, frozenset((index.ids[v],)), own_team
    team = _MANY_TEAMS if insight.cross_team else own_team
    return insight.depth + 1, frozenset(insight.root_blockers), team


class _InsightBuilder:
    """Turns carries into Insight objects, sorting each distinct (shared) root set once."""

    __slots__ = ("index", "sorted_roots")

    def __init__(self, index: _Index) -> None:
        self.index = index
        self.sorted_roots: dict[int, tuple[int, ...]] = {}  # id(frozenset) -> sorted ids

    def build(self, v: int, incoming: _Carry, downstream_count: int) -> Insight:
        node = self.index.nodes[v]
        if node.done:
            return _DONE_INSIGHT
        chain, roots, team = incoming
        return Insight(
            chain > 0,
            self._direct_blockers(v),
            self._sorted(roots),
            chain,
            downstream_count,
            chain > 0 and team != node.team_id,
        )

    def _sorted(self, roots: frozenset[int]) -> tuple[int, ...]:
        # Keyed by identity: valid because the caller keeps every carry alive meanwhile.
        cached = self.sorted_roots.get(id(roots))
        if cached is None:
            cached = self.sorted_roots[id(roots)] = tuple(sorted(roots))
        return cached

    def _direct_blockers(self, v: int) -> tuple[int, ...]:
        done, ids = self.index.done, self.index.ids
        blockers = [ids[p] for p in self.index.pred[v] if not done[p]]
        return tuple(blockers) if len(blockers) < 2 else tuple(sorted(set(blockers)))


# --- downstream_count ---------------------------------------------------------------------------


def _component_bits(index: _Index) -> list[int]:
    """A bit number for every unfinished ticket, counted within its weakly connected
    component: reach bitsets never mix components, so they stay as small as a component."""
    succ, pred, done = index.succ, index.pred, index.done
    bits = [0] * len(done)
    seen = [False] * len(done)
    for start, start_seen in enumerate(seen):
        if start_seen or not (succ[start] or pred[start]):
            continue
        seen[start] = True
        stack = [start]
        next_bit = 0
        while stack:
            v = stack.pop()
            if not done[v]:
                bits[v] = next_bit
                next_bit += 1
            for w in succ[v] + pred[v]:
                if not seen[w]:
                    seen[w] = True
                    stack.append(w)
    return bits


def _downstream_counts(
    index: _Index,
    reverse_order: Iterable[int],
    bit_of: Sequence[int] | Mapping[int, int],
    unread: MutableSequence[int] | dict[int, int],
    reach: MutableSequence[int] | dict[int, int] | None = None,
) -> dict[int, int]:
    """Distinct unfinished descendants of every unfinished ticket of a downward-closed set,
    visited sinks first. Reach sets are int bitsets (`bit_of` numbers the unfinished tickets);
    `unread` counts the predecessors yet to read a reach set, which is dropped after the last.
    `reach`: room for a set per ticket of the set (default: a list over the whole index)."""
    succ, done = index.succ, index.done
    if reach is None:
        reach = [0] * len(done)
    counts: dict[int, int] = {}
    for v in reverse_order:
        below = 0
        for s in succ[v]:
            below |= reach[s]
            unread[s] -= 1
            if not unread[s]:
                reach[s] = 0
        if not done[v]:
            counts[v] = below.bit_count()
            below |= 1 << bit_of[v]
        reach[v] = below
    return counts


# --- incremental recompute ----------------------------------------------------------------------


def _recompute_on_index(
    index: _Index, changed_ids: Iterable[int], previous: Mapping[int, Insight]
) -> dict[int, Insight]:
    changed = _changed_positions(index, changed_ids, previous)
    if not changed:
        return {}
    above, cone = _cone(index, changed)
    if len(cone) > _FULL_RECOMPUTE_SHARE * len(index.ids):
        # Most of the graph: the list-based full pass beats the dict-based incremental walk.
        return _differences(_insights_on_index(index), previous)
    return _recompute_around(index, changed, previous, above, cone)


def _cone(index: _Index, changed: set[int]) -> tuple[set[int], set[int]]:
    above = _reachable(index.pred, changed)  # their downstream_count may move
    return above, _reachable(index.succ, above)  # all that can move, and what feeds the counts


def _recompute_around(
    index: _Index,
    changed: set[int],
    previous: Mapping[int, Insight],
    above: set[int],
    cone: set[int],
    previous_counts: Mapping[int, int] | None = None,
    moved_counts: dict[int, int] | None = None,
) -> dict[int, Insight]:
    """Insights that differ from `previous` after `changed` changed (`above`, `cone`: from
    _cone). The index needs to hold only the cone and what feeds the tickets below `changed`
    (see recompute_region). An unfinished ancestor missing from `previous` is looked up in
    `previous_counts`; where its count moved, the new one goes to `moved_counts`."""
    order = _topological_order_within(index, cone)
    incoming = _upstream_incremental(index, order, changed, previous)
    counts = _cone_downstream_counts(index, order)
    builder = _InsightBuilder(index)
    ids, done = index.ids, index.done
    fresh: dict[int, Insight] = {}
    for v in incoming.keys() | above:
        if v in incoming:
            fresh[ids[v]] = builder.build(v, incoming[v], counts.get(v, 0))
        elif not done[v]:
            old = previous.get(ids[v])
            if old is not None:
                if old.downstream_count != counts[v]:
                    fresh[ids[v]] = _with_downstream_count(old, counts[v])
            elif previous_counts is not None and previous_counts[ids[v]] != counts[v]:
                moved_counts[ids[v]] = counts[v]
    return _differences(fresh, previous)


def _changed_positions(
    index: _Index, changed_ids: Iterable[int], previous: Mapping[int, Insight]
) -> set[int]:
    """Positions of the changed tickets, plus any ticket `previous` has never seen."""
    pos = index.pos
    changed = {pos[ticket_id] for ticket_id in changed_ids if ticket_id in pos}
    if not previous.keys() >= pos.keys():  # C-speed check first; the difference only if needed
        changed.update(pos[ticket_id] for ticket_id in pos.keys() - previous.keys())
    return changed


def _differences(fresh: dict[int, Insight], previous: Mapping[int, Insight]) -> dict[int, Insight]:
    return {ticket_id: new for ticket_id, new in fresh.items() if new != previous.get(ticket_id)}


def _with_downstream_count(old: Insight, count: int) -> Insight:
    # Positional construction: dataclasses.replace() costs 5x more, and this runs per ancestor.
    return Insight(
        old.blocked, old.direct_blockers, old.root_blockers, old.depth, count, old.cross_team
    )


def _cone_downstream_counts(index: _Index, order: list[int]) -> dict[int, int]:
    """downstream_count of every unfinished ticket of a downward-closed set, given in
    topological order."""
    bit_of = {v: bit for bit, v in enumerate(order)}
    unread = {v: len(index.pred[v]) for v in order}
    # Reach sets by ticket, not a list over the whole index: the cone may be a sliver of it.
    return _downstream_counts(index, reversed(order), bit_of, unread, dict.fromkeys(order, 0))


def _upstream_incremental(
    index: _Index, order: list[int], changed: set[int], previous: Mapping[int, Insight]
) -> dict[int, _Carry]:
    """New incoming carry of the tickets below `changed` that may have changed. Walks `order`
    (topological, covering everything below `changed`) and passes nothing on below an
    unfinished ticket whose insight held: the early cut-off."""
    outflow: dict[int, _Carry] = {}  # outgoing carry of every ticket settled so far
    incoming: dict[int, _Carry] = {}
    dirty = set(changed)
    for v in order:
        if v not in dirty:
            continue
        for p in index.pred[v]:
            if p not in outflow:
                _settle(index, p, outflow, previous)
        flow = incoming[v] = _merge_carries(index.pred[v], outflow)
        outflow[v] = _carry_out(index, v, flow)
        # A changed or done ticket has no stored "before" to compare with: always pass on.
        if v in changed or index.done[v] or _passes_on_something_new(index, v, flow, previous):
            dirty.update(index.succ[v])
    return incoming


def _settle(
    index: _Index, p: int, outflow: dict[int, _Carry], previous: Mapping[int, Insight]
) -> None:
    """Record the outgoing carry of a ticket that does not change: rebuilt from its stored
    insight, or, for a done ticket (which stores nothing useful), merged from above it."""
    stack = [p]
    while stack:
        v = stack[-1]
        if v in outflow:
            stack.pop()
        elif not index.done[v]:
            outflow[v] = _carry_from_insight(index, v, previous[index.ids[v]])
            stack.pop()
        else:
            unsettled = [q for q in index.pred[v] if q not in outflow]
            if unsettled:
                stack.extend(unsettled)
            else:
                outflow[v] = _merge_carries(index.pred[v], outflow)
                stack.pop()


def _passes_on_something_new(
    index: _Index, v: int, flow: _Carry, previous: Mapping[int, Insight]
) -> bool:
    """Whether an unchanged unfinished ticket's blocked/depth/roots/cross_team moved."""
    old = previous[index.ids[v]]
    chain, roots, team = flow
    return (
        chain != old.depth
        or (chain > 0 and team != index.teams[v]) != old.cross_team
        or len(roots) != len(old.root_blockers)
        or roots != frozenset(old.root_blockers)
    )


# --- critical path ------------------------------------------------------------------------------


def _earliest_times(
    index: _Index, order: list[int], duration: list[float]
) -> tuple[list[float], list[float]]:
    """Forward pass: earliest start and finish of every ticket."""
    pred = index.pred
    start = [0.0] * len(order)
    finish = [0.0] * len(order)
    for v in order:
        if pred[v]:
            start[v] = max([finish[p] for p in pred[v]])
        finish[v] = start[v] + duration[v]
    return start, finish


def _latest_finishes(
    index: _Index, order: list[int], duration: list[float], length: float
) -> list[float]:
    """Backward pass: latest finish of every ticket that keeps the path at `length`."""
    succ = index.succ
    latest = [length] * len(order)
    for v in reversed(order):
        if succ[v]:
            latest[v] = min([latest[s] - duration[s] for s in succ[v]])
    return latest


def _longest_chain(
    index: _Index,
    tasks: set[int],
    start: list[float],
    finish: list[float],
    length: float,
) -> list[int]:
    """Walk back from the lowest-id task finishing last, each time to the lowest-id
    predecessor that finishes exactly when the current ticket starts."""
    ids = index.ids
    current = min((v for v in tasks if finish[v] == length), key=ids.__getitem__)
    path = [ids[current]]
    while True:
        binding = [p for p in index.pred[current] if finish[p] == start[current]]
        if not binding:
            break
        current = min(binding, key=ids.__getitem__)
        if current in tasks:
            path.append(ids[current])
    path.reverse()
    return path
