from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from sprintplan.limits import DESCRIPTION_MAX, max_length_constraint


class Ticket(models.Model):
    class Type(models.TextChoices):
        STORY = "story", "Story"
        TASK = "task", "Task"
        BUG = "bug", "Bug"
        SPIKE = "spike", "Spike"
        LABELING_BATCH = "labeling_batch", "Labeling batch"
        TRAINING_RUN = "training_run", "Training run"
        VALIDATION = "validation", "Validation"

    class Status(models.TextChoices):
        BACKLOG = "backlog", "Backlog"
        TODO = "todo", "To do"
        IN_PROGRESS = "in_progress", "In progress"
        IN_REVIEW = "in_review", "In review"
        DONE = "done", "Done"

    key = models.CharField(max_length=24, unique=True, editable=False)
    number = models.PositiveIntegerField(editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="tickets")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.TASK)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BACKLOG)
    size = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    progress = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    sprint = models.ForeignKey(
        "sprints.Sprint", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    rank = models.BigIntegerField(default=0, db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    # Optimistic concurrency: every write through the service bumps it; a writer that
    # saw an older version is refused.
    version = models.PositiveIntegerField(default=1, editable=False)
    # Archived tickets keep their key and history but leave boards, the backlog and the
    # forecasts; the dependency graph counts them as finished. Restoring clears it.
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The sprint it left when archived: restoring puts it back there while that sprint is open.
    archived_from_sprint = models.ForeignKey(
        "sprints.Sprint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rank", "id"]
        constraints = [
            max_length_constraint("ticket", "description", DESCRIPTION_MAX),
            models.UniqueConstraint(fields=["team", "number"], name="ticket_unique_team_number"),
            models.CheckConstraint(condition=models.Q(size__gte=0), name="ticket_size_gte_0"),
            models.CheckConstraint(
                condition=models.Q(progress__gte=0) & models.Q(progress__lte=models.F("size")),
                name="ticket_progress_within_size",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["backlog", "todo", "in_progress", "in_review", "done"]
                ),
                name="ticket_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    type__in=[
                        "story",
                        "task",
                        "bug",
                        "spike",
                        "labeling_batch",
                        "training_run",
                        "validation",
                    ]
                ),
                name="ticket_type_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")), name="ticket_not_own_parent"
            ),
        ]
        indexes = [
            models.Index(fields=["sprint", "team", "rank"], name="ticket_sprint_team_rank"),
            # The backlog (no sprint, not archived) in rank order, without sorting it: the
            # planning room's slices and a move's "row below" read it from here.
            models.Index(fields=["sprint", "archived_at", "rank"], name="ticket_backlog_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def progress_percent(self) -> int:
        if not self.size:
            return 100 if self.is_done else 0
        return int(self.progress * 100 / self.size)


class TicketEvent(models.Model):
    """Append-only history: one row per changed field (who, when, what, old -> new)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket_events",
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    field = models.CharField(max_length=40)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["ticket", "-at"], name="ticketevent_ticket_at")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.field}: {self.old_value} -> {self.new_value}"


class Comment(models.Model):
    """A remark on a ticket, in Markdown. Mentions are the people its @usernames named when
    it was last written (resolved then, so a later rename does not change who was meant)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="ticket_comments",
    )
    body = models.TextField()
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in_comments"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_at")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(body=""), name="comment_body_not_empty")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.body[:40]}"
