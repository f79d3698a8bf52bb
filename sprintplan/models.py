from django.db import models


class DerivedChange(models.Model):
    """A durable "derived data is stale" marker, written in the same transaction as the change
    that makes it stale (sprintplan.derived). The recompute of its kind consumes it, so a
    change survives a lost broker message or a crashed worker: the next run, or the periodic
    catch-up, still sees it.

    `object_id` is what went stale within the kind (a ticket for insights, a sprint for
    sprint forecasts, a planning interval for PI forecasts); null means every open one.
    Ids only grow: the newest id a run consumed is the input version of what it wrote."""

    kind = models.CharField(max_length=24)
    object_id = models.BigIntegerField(null=True, blank=True)
    # What kind of change, where the recompute cares (insights: "ticket" or "link").
    detail = models.CharField(max_length=8, blank=True, default="", db_default="")
    # Insights, a link change: RecomputeState.links_version as the change's own statement
    # left it (see dependencies.mirror).
    links_version = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["kind", "id"], name="derivedchange_kind_id")]

    def __str__(self) -> str:
        return f"{self.kind} stale for {self.object_id or 'all'} (change {self.pk})"


class Heartbeat(models.Model):
    """The last sign of life of one background process (a Celery worker or beat), written
    by the process itself every few seconds; /health/ reads it. One row per process name
    (`graph@host`), replaced in place."""

    name = models.CharField(max_length=200, unique=True)
    # What the process serves, e.g. "worker", "graph", "worker graph" or "beat".
    roles = models.CharField(max_length=100)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.roles}) at {self.beat_at:%H:%M:%S}"
