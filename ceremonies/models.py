"""What the ceremonies remember beyond the tickets: how long each ticket stayed blocked (the
insights keep only the present), which forecast runs were already compared, the PO's goal
thresholds, when a stand-up was held, and the retrospective's notes and actions."""

from decimal import Decimal

from django.conf import settings
from django.db import models


class BlockedSpell(models.Model):
    """One stretch of time a ticket was blocked, with the root blockers seen when it began.
    Written by the `blocked_spells` derived kind from the insights, never by pages."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="blocked_spells"
    )
    root_blocker_ids = models.JSONField(default=list)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket", "started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=models.Q(ended_at__isnull=True),
                name="blockedspell_one_open_per_ticket",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True)
                | models.Q(ended_at__gte=models.F("started_at")),
                name="blockedspell_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["ended_at"], name="blockedspell_ended")]

    def __str__(self) -> str:
        return f"{self.ticket_id} blocked from {self.started_at} to {self.ended_at or 'now'}"


class ForecastWatch(models.Model):
    """The newest forecast run of a sprint already compared with its predecessor (so each
    crossing or slip is announced once)."""

    sprint = models.OneToOneField(
        "sprints.Sprint", on_delete=models.CASCADE, related_name="forecast_watch"
    )
    last_run_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"sprint {self.sprint_id} watched up to run {self.last_run_id}"


DEFAULT_GOAL_THRESHOLD = Decimal("0.5")


class GoalThreshold(models.Model):
    """The chance of meeting a goal below which the PO wants to hear about it."""

    goal = models.OneToOneField(
        "planning.SprintGoal", on_delete=models.CASCADE, related_name="threshold"
    )
    threshold = models.DecimalField(max_digits=4, decimal_places=2, default=DEFAULT_GOAL_THRESHOLD)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold__gt=0) & models.Q(threshold__lt=1),
                name="goalthreshold_between_0_and_1",
            )
        ]

    def __str__(self) -> str:
        return f"goal {self.goal_id} threshold {self.threshold}"


class StandupMark(models.Model):
    """A stand-up was held (per sprint, and team when the stand-up was a team's): the next
    one shows what happened since."""

    sprint = models.ForeignKey("sprints.Sprint", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    held_at = models.DateTimeField()
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-held_at", "-id"]
        indexes = [models.Index(fields=["sprint", "team", "-held_at"], name="standup_latest")]

    def __str__(self) -> str:
        return f"stand-up of sprint {self.sprint_id} at {self.held_at}"


class RetroItem(models.Model):
    """One note of a sprint's retrospective. Actions have an owner and may become a ticket
    of the next sprint; the next retrospective shows whether they were done."""

    class Kind(models.TextChoices):
        WENT_WELL = "went_well", "Went well"
        TO_IMPROVE = "to_improve", "To improve"
        ACTION = "action", "Action"

    sprint = models.ForeignKey("sprints.Sprint", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done = models.BooleanField(default=False)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sprint", "kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["went_well", "to_improve", "action"]),
                name="retroitem_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="action") | models.Q(owner__isnull=True),
                name="retroitem_only_actions_have_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:50]}"

    @property
    def is_done(self) -> bool:
        """An action turned into a ticket is done when the ticket is."""
        if self.ticket_id is not None and self.ticket is not None:
            return self.ticket.status == "done"
        return self.done
