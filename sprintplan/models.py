from django.db import models


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
