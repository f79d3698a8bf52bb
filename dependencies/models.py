from django.conf import settings
from django.db import models


class DependencyLink(models.Model):
    """`blocker` must finish before `blocked` can (finish-to-start). May cross teams."""

    blocker = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="blocks_links"
    )
    blocked = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="blocked_by_links"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(blocker=models.F("blocked")), name="link_not_self"
            ),
            models.UniqueConstraint(fields=["blocker", "blocked"], name="link_unique_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class TicketInsight(models.Model):
    """Derived facts about a ticket's place in the dependency graph (written by the recompute)."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="insight"
    )
    blocked = models.BooleanField(default=False)
    direct_blocker_ids = models.JSONField(default=list)
    root_blocker_ids = models.JSONField(default=list)
    depth = models.PositiveIntegerField(default=0)
    downstream_count = models.PositiveIntegerField(default=0)
    cross_team = models.BooleanField(default=False)
    # The ticket's done-state these insights (and its ancestors' downstream_count) reflect:
    # a status change is then a +/-1 on its ancestors' counts. None: unknown (a change to the
    # ticket is pending, or was seen half-way); the next recompute of it counts exactly.
    done = models.BooleanField(null=True, default=None)
    # The newest change marker (sprintplan.DerivedChange) id the recompute had seen: the
    # input version of this result.
    graph_version = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"insight {self.ticket_id}: blocked={self.blocked}"


class RecomputeState(models.Model):
    """Single row: when the derived data was last brought up to date."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    graph_version = models.BigIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.FloatField(default=0)
    last_changed_rows = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)
    # A random number written by every recompute: a worker's in-memory copy of the graph
    # (dependencies.mirror) is current only while it equals the token of the run that made it.
    token = models.BigIntegerField(default=0)
    # Moved by a database trigger on every statement that writes dependency links, whoever
    # runs it (services, a ticket's deletion cascading, raw SQL): a mirror built at
    # another value has missed a link.
    links_version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="recompute_state_single_row")
        ]

    def __str__(self) -> str:
        return f"recompute state at graph version {self.graph_version}"
