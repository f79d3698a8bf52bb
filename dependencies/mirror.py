"""A copy of the dependency graph and its stored insights, kept in a long-lived process (the
Celery worker) between recomputes, so that a status change needs no graph read.

Why: after one status change at 100k tickets, reading the region below it from PostgreSQL
(~300 descendants and ~450 tickets feeding them, an index lookup or three each) was over half
of the recompute. Held here, the recompute walks only what may move (graph's early cut-off);
the database is read only for the changed tickets themselves, and written as before.

When it may be used: it reflects the database as of one recompute, named by the random
`token` that recompute wrote to RecomputeState, and its links as of `links_version`, which a
database trigger moves on every write of links, whoever makes it. A recompute that reads both
unchanged under the graph lock is the next one after the mirror's: nothing mirrored has moved
but what the pending change markers name (every status and team change through the services
writes one). Another process's recompute, a rolled-back one, a flushed database, a link
written anywhere: the stamp differs and the caller reads from the database instead. Only
status / team changes are computed here, whatever the size of the region they move (it is
all here already), and exactly where +/-1 on the ancestors' counts does not apply. A link
change is computed from the database, then applied here in place when its change markers
account for every step of links_version since the mirror was built (each records the version
its own statement left); otherwise the caller builds a new mirror.

A recompute changes the mirror as it computes (`token` None meanwhile: not current) and
makes it current again only once its transaction has committed (`commit`).

Pure standard library; the caller does the reads and writes (dependencies.services).
"""

from collections.abc import Iterable, Mapping

from . import graph


class GraphMirror:
    """Every ticket (team, done) and link in a graph index, and each ticket's stored insight
    with the done-state it was stored for (TicketInsight.done; None: unknown)."""

    def __init__(
        self,
        links_version: int,
        tickets: Iterable[graph.Node | graph.TicketState],
        links: Iterable[graph.Link],
        insights: Mapping[int, graph.Insight],
        stored_done: Mapping[int, bool | None],
    ) -> None:
        self.token: int | None = None  # set when the recompute that built it commits
        self.links_version = links_version
        self.index = graph.GraphIndex(tickets, links)
        self.insights = dict(insights)
        self.stored_done = dict(stored_done)

    def is_current(self, token: int, links_version: int) -> bool:
        """Whether the database is still as mirrored: its last recompute's token, and its
        links' version (RecomputeState)."""
        return self.token is not None and (self.token, self.links_version) == (
            token,
            links_version,
        )

    def __len__(self) -> int:
        return len(self.index.ids)

    def knows(self, ticket_id: int) -> bool:
        return ticket_id in self.index.pos

    def done_of(self, ticket_ids: Iterable[int]) -> dict[int, bool]:
        index = self.index
        return {ticket_id: index.done[index.pos[ticket_id]] for ticket_id in ticket_ids}

    def below(self, ticket_ids: Iterable[int]) -> set[int]:
        """Index positions of the given tickets (those it knows) and their descendants."""
        pos = self.index.pos
        starts = [pos[ticket_id] for ticket_id in ticket_ids if ticket_id in pos]
        return graph.reachable(self.index.succ, starts)

    def recompute_below(self, fresh: Mapping[int, graph.TicketState]) -> dict[int, graph.Insight]:
        """graph.recompute_below for the tickets in `fresh` (their state as just read), on the
        whole mirrored graph: the insights that differ from the stored ones. Puts the new
        states in the mirror, which stays not current until commit(). KeyError if a stored
        insight that is needed is missing (the mirror is then unusable: build another)."""
        self.token = None
        for ticket in fresh.values():
            self.index.put(ticket)
        return graph.recompute_below_indexed(self.index, fresh.keys(), self.insights)

    def recompute_exact(self, fresh: Mapping[int, graph.TicketState]) -> dict[int, graph.Insight]:
        """recompute_below() with every ancestor of the changed tickets counted again instead
        of moved by +/-1 (graph.recompute_incremental_indexed): for a changed ticket whose
        stored done-state is unknown (its ancestors' stored counts may or may not count it)
        or that has no stored insight. Up to a full pass over the mirror; not current until
        commit()."""
        self.token = None
        for ticket in fresh.values():
            self.index.put(ticket)
        return graph.recompute_incremental_indexed(self.index, fresh.keys(), self.insights)

    def ancestor_counts(self, flipped: Mapping[int, int], below: set[int]) -> dict[int, int]:
        """New downstream_count of the ancestors of the tickets whose done-state flipped (id ->
        +1 became unfinished, -1 became done) that are not `below` a changed ticket (positions,
        see below(): those are recounted), for those whose stored insight was computed for an
        unfinished ticket: the stored count plus one per flipped ticket below it
        (services._recompute_below says why that is exact)."""
        index = self.index
        delta: dict[int, int] = {}
        for ticket_id, step in flipped.items():
            for ancestor in graph.reachable(index.pred, [index.pos[ticket_id]]) - below:
                delta[ancestor] = delta.get(ancestor, 0) + step
        counts = {}
        for ancestor, step in delta.items():
            ticket_id = index.ids[ancestor]
            insight = self.insights.get(ticket_id)
            if step and insight is not None and self.stored_done.get(ticket_id) is False:
                counts[ticket_id] = insight.downstream_count + step
        return counts

    def refill(
        self,
        tickets: Iterable[graph.Node | graph.TicketState],
        insights: dict[int, graph.Insight],
        stored_done: dict[int, bool | None],
    ) -> None:
        """What a full recompute read and stored, on the same links (the caller checked the
        stamp): every ticket's state, every insight (the dicts are taken, not copied). Not
        current until commit()."""
        self.token = None
        index = self.index
        for ticket in tickets:
            position = index.pos.get(ticket.id)
            if position is None or (index.done[position], index.teams[position]) != (
                ticket.done,
                ticket.team_id,
            ):
                index.put(ticket)
        self.insights = insights
        self.stored_done = stored_done

    def follow_links(
        self,
        fresh: Mapping[int, graph.TicketState],
        pairs: Iterable[tuple[int, int]],
        links: Iterable[graph.Link],
        links_version: int,
    ) -> None:
        """Link changes applied in place (a run that read the database committed them): the
        changed tickets' state as read (new ones added), the links between each changed pair
        replaced by those that exist now; then the links' version they bring."""
        self.token = None
        index = self.index
        for ticket in fresh.values():
            index.put(ticket)
        pos, succ, pred = index.pos, index.succ, index.pred
        for a, b in pairs:
            for blocker, blocked in ((pos[a], pos[b]), (pos[b], pos[a])):
                if blocked in succ[blocker]:
                    succ[blocker].remove(blocked)
                    pred[blocked].remove(blocker)
        for blocker_id, blocked_id in links:
            succ[pos[blocker_id]].append(pos[blocked_id])
            pred[pos[blocked_id]].append(pos[blocker_id])
        self.links_version = links_version

    def commit(
        self,
        token: int,
        insights: Mapping[int, graph.Insight],
        counts: Mapping[int, int],
        stored_done: Mapping[int, bool | None],
    ) -> None:
        """The recompute committed: the insights it upserted, the ancestors' new counts, the
        done-states it recorded; the mirror is current again, under the run's token."""
        self.insights.update(insights)
        for ticket_id, count in counts.items():
            old = self.insights[ticket_id]
            self.insights[ticket_id] = graph.Insight(
                old.blocked,
                old.direct_blockers,
                old.root_blockers,
                old.depth,
                count,
                old.cross_team,
            )
        self.stored_done.update(stored_done)
        self.token = token
