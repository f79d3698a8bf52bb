"""What version of a sprint an open page shows, and which of its rows moved since.

An open sprint page keeps the version it was drawn at. When the page's live stream says the
sprint may have changed, the page sends that version back: the server answers "nothing" when
it is still current, only the rows that moved (and the figures summing them) when nothing but
ticket fields and their dependency insights changed, and the whole page body otherwise.
"""

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery, Sum, Value

from dependencies.models import DependencyLink, RecomputeState
from quality.models import Evidence
from sprintplan import derived
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
    """One statement of small aggregates and no rendering, so open pages can ask often."""
    tickets = Ticket.objects.filter(sprint=OuterRef("pk")).order_by().values("sprint")
    adjustments = (
        CapacityAdjustment.objects.filter(
            from_date__lte=OuterRef("end_date"), to_date__gte=OuterRef("start_date")
        )
        .order_by()
        .annotate(everything=Value(1))
        .values("everything")
    )
    by_sprint = {"sprint": OuterRef("pk")}
    # names of their own: the sprint has fields called like some of these
    row = (
        Sprint.objects.filter(pk=sprint.pk)
        .annotate(
            v_n=_one(tickets, Count("id")),
            v_last=_one(tickets, Max("updated_at")),
            v_ids=_one(tickets, Sum("id")),
            v_ranks=_one(tickets, Sum("rank")),
            v_sizes=_one(tickets, Sum("size")),
            v_graph_version=Subquery(
                RecomputeState.objects.filter(pk=1).values("graph_version")[:1]
            ),
            v_insights_pending=Exists(derived.waiting_markers("insights")),
            v_forecast_run=_newest(ForecastRun.objects.filter(**by_sprint)),
            v_adjustments=_one(adjustments, Count("id")),
            v_last_adjustment=_one(adjustments, Max("id")),
            v_last_evidence=_newest(Evidence.objects.all()),
            v_last_decision=_newest(PlanDecision.objects.filter(**by_sprint)),
        )
        .values(
            "v_n",
            "v_last",
            "v_ids",
            "v_ranks",
            "v_sizes",
            "v_graph_version",
            "v_insights_pending",
            "v_forecast_run",
            "v_adjustments",
            "v_last_adjustment",
            "v_last_evidence",
            "v_last_decision",
        )
        .get()
    )
    return SprintVersion(
        tickets=row["v_n"] or 0,
        last_update=_stamp(row["v_last"]),
        ticket_ids=row["v_ids"] or 0,
        ranks=row["v_ranks"] or 0,
        sizes=f"{Decimal(row['v_sizes'] or 0):.2f}",
        graph_version=row["v_graph_version"] or 0,
        insights_pending=int(bool(row["v_insights_pending"])),
        forecast_run=row["v_forecast_run"] or 0,
        adjustments=row["v_adjustments"] or 0,
        last_adjustment=row["v_last_adjustment"] or 0,
        last_evidence=row["v_last_evidence"] or 0,
        last_decision=row["v_last_decision"] or 0,
    )


def _one(grouped, aggregate):
    """`aggregate` over the rows of `grouped` (a queryset grouped to one group), as a
    subquery."""
    return Subquery(grouped.annotate(value=aggregate).values("value")[:1])


def _newest(queryset):
    return Subquery(queryset.order_by("-id").values("id")[:1])


def _stamp(moment: datetime | None) -> float:
    return round(moment.timestamp(), 6) if moment else 0.0


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
