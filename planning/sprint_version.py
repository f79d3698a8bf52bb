"""What version of a sprint an open page shows, and which of its rows moved since.

An open sprint page keeps the version it was drawn at. When the page's live stream says the
sprint may have changed, the page sends that version back: the server answers "nothing" when
it is still current, only the rows that moved (and the figures summing them) when nothing but
ticket fields and their dependency insights changed, and the whole page body otherwise.
"""

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

from django.db import connection
from django.db.models import Q

from dependencies.models import DependencyLink, RecomputeState
from quality.models import Evidence
from sprintplan.models import DerivedChange
from sprints.models import Sprint
from tickets.models import Ticket

from .models import CapacityAdjustment, ForecastRun, PlanDecision

# A ticket's `updated_at` is stamped before its transaction commits: a write that commits
# after a newer one shows an older stamp. Rows stamped this long before the version's newest
# stamp are sent again, so such a write is not missed.
COMMIT_MARGIN = timedelta(seconds=10)


@dataclass(frozen=True)
class SprintVersion:
    """Small aggregates over everything the sprint page shows. Equal versions: same page."""

    tickets: int  # how many tickets are in the sprint
    last_update: float  # the newest `updated_at` among them, as a POSIX timestamp
    ticket_ids: int  # sum of their ids: which tickets (a swap of one for another moves it)
    ranks: int  # sum of their ranks: their order
    sizes: str  # sum of their sizes: the capacity load
    graph_version: int  # the dependency insights' input version
    insights_pending: int  # 1 while an insight recompute is owed
    forecast_run: int  # the newest stored forecast of the sprint
    adjustments: int  # capacity adjustments overlapping the sprint
    last_adjustment: int
    last_evidence: int
    last_decision: int

    @property
    def token(self) -> str:
        return "_".join(str(getattr(self, field.name)) for field in fields(self))

    @classmethod
    def parse(cls, token: str) -> "SprintVersion | None":
        """The version a token names; None for anything a page could not have been sent."""
        parts = token.split("_")
        if len(parts) != len(fields(cls)):
            return None
        try:
            return cls(*(field.type(part) for field, part in zip(fields(cls), parts, strict=True)))
        except ValueError:
            return None

    def same_rows_as(self, other: "SprintVersion") -> bool:
        """Whether only ticket fields and insights can have moved between the two: the same
        tickets in the same order with the same sizes, and the same forecast, capacity
        adjustments, evidence and decisions. Then redrawing the rows that moved is enough."""
        unchanged = (
            "tickets",
            "ticket_ids",
            "ranks",
            "sizes",
            "forecast_run",
            "adjustments",
            "last_adjustment",
            "last_evidence",
            "last_decision",
        )
        return all(getattr(self, name) == getattr(other, name) for name in unchanged)


def sprint_version(sprint: Sprint) -> SprintVersion:
    """One small statement and no rendering, so open pages can ask often. Written as SQL
    once: built by the ORM, its twelve subqueries cost ~4 ms of Python to compile at every
    ask, twenty times what the database takes to answer."""
    with connection.cursor() as cursor:
        cursor.execute(
            _version_sql(),
            {
                "sprint": sprint.pk,
                "start": sprint.start_date,
                "end": sprint.end_date,
                "insights": "insights",
            },
        )
        row = cursor.fetchone()
    n, last, ids, ranks, sizes, graph_version, pending, *rest = row
    forecast_run, adjustments, last_adjustment, last_evidence, last_decision = rest
    return SprintVersion(
        tickets=n or 0,
        last_update=_stamp(last),
        ticket_ids=ids or 0,
        ranks=ranks or 0,
        sizes=f"{Decimal(str(sizes or 0)):.2f}",
        graph_version=graph_version or 0,
        insights_pending=int(bool(pending)),
        forecast_run=forecast_run or 0,
        adjustments=adjustments or 0,
        last_adjustment=last_adjustment or 0,
        last_evidence=last_evidence or 0,
        last_decision=last_decision or 0,
    )


@cache
def _version_sql() -> str:
    tables = {
        "ticket": Ticket._meta.db_table,
        "state": RecomputeState._meta.db_table,
        "marker": DerivedChange._meta.db_table,
        "run": ForecastRun._meta.db_table,
        "adjustment": CapacityAdjustment._meta.db_table,
        "evidence": Evidence._meta.db_table,
        "decision": PlanDecision._meta.db_table,
    }
    return """
        SELECT t.n, t.last, t.ids, t.ranks, t.sizes,
            (SELECT graph_version FROM {state} WHERE id = 1),
            EXISTS (SELECT 1 FROM {marker} WHERE kind = %(insights)s),
            (SELECT MAX(id) FROM {run} WHERE sprint_id = %(sprint)s),
            a.n, a.last,
            (SELECT MAX(id) FROM {evidence}),
            (SELECT MAX(id) FROM {decision} WHERE sprint_id = %(sprint)s)
        FROM (
            SELECT COUNT(id) AS n, MAX(updated_at) AS last, SUM(id) AS ids,
                SUM("rank") AS ranks, SUM(size) AS sizes
            FROM {ticket} WHERE sprint_id = %(sprint)s
        ) t, (
            SELECT COUNT(id) AS n, MAX(id) AS last FROM {adjustment}
            WHERE from_date <= %(end)s AND to_date >= %(start)s
        ) a
    """.format(**tables)


def _stamp(moment) -> float:
    """A POSIX timestamp of a stored moment (SQLite hands it over as text in UTC)."""
    if moment is None:
        return 0.0
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    return round(moment.timestamp(), 6)


def rows_moved_since(sprint: Sprint, shown: SprintVersion) -> dict[int, int]:
    """The sprint's tickets whose row may look different from the version shown (id -> team
    id): the ones written since (with the commit margin), the ones whose insights were
    recomputed since, and the ones a written ticket blocks (their row names the link's
    health). Two queries."""
    since = datetime.fromtimestamp(shown.last_update).astimezone() - COMMIT_MARGIN
    written = Ticket.objects.filter(updated_at__gt=since).values("id")
    blocked_by_written = DependencyLink.objects.filter(blocker_id__in=written).values("blocked_id")
    return dict(
        Ticket.objects.filter(sprint=sprint)
        .filter(
            Q(updated_at__gt=since)
            | Q(insight__graph_version__gt=shown.graph_version)
            | Q(pk__in=blocked_by_written)
        )
        .values_list("id", "team_id")
    )
