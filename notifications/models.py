"""Who is told what, where. A `Delivery` is one message to one person (or one chat webhook)
on one channel: the log the Scrum master reads, deduplicated by a unique key per channel,
target and event. An inbox delivery, once delivered, is a `Notification` the person reads."""

from django.conf import settings
from django.db import models


class Event(models.TextChoices):
    MENTIONED = "mentioned", "I was mentioned in a comment"
    BLOCKED = "blocked", "A ticket I own or watch became blocked"
    UNBLOCKED = "unblocked", "A ticket I own or watch became unblocked"
    BLOCKER_SLIPPED = "blocker_slipped", "A blocker of my ticket slipped past the sprint end"
    GOAL_CHANCE = "goal_chance", "A sprint goal's chance crossed its threshold"
    DOD_FAILED = "dod_failed", "A Definition of Done criterion of my team failed"
    SPRINT_STARTED = "sprint_started", "A sprint started"
    SPRINT_CLOSED = "sprint_closed", "A sprint closed"
    CAPACITY_CHANGED = "capacity_changed", "A capacity change was recorded"


DIGEST = "digest"


class Channel(models.TextChoices):
    INBOX = "inbox", "In-app inbox"
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Chat webhook"


PERSONAL_CHANNELS = (Channel.INBOX, Channel.EMAIL)


class Preference(models.Model):
    """A person's choices: per event the channels (missing event: inbox and e-mail), and
    whether messages come at once or as one daily digest grouped per sprint."""

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", "At once"
        DAILY = "daily", "One daily digest"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    channels = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IMMEDIATE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(mode__in=["immediate", "daily"]), name="preference_mode_valid"
            )
        ]

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class TicketWatch(models.Model):
    """A person follows a ticket they do not own: they hear when it is blocked or freed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "ticket"], name="ticketwatch_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} watches {self.ticket_id}"


class WebhookSubscription(models.Model):
    """An outbound chat webhook of a team or a sprint (neither: everything)."""

    class Format(models.TextChoices):
        SLACK = "slack", "Slack incoming webhook"
        MATTERMOST = "mattermost", "Mattermost incoming webhook"
        GENERIC = "generic", "Generic JSON (signed HMAC-SHA256)"

    name = models.CharField(max_length=100)
    format = models.CharField(max_length=12, choices=Format.choices)
    url = models.URLField(max_length=500)
    # Signs generic deliveries; shown once when the subscription is created.
    secret = models.CharField(max_length=100)
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sprint = models.ForeignKey(
        "sprints.Sprint", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    events = models.JSONField(default=list, blank=True, help_text="Empty: every event.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(format__in=["slack", "mattermost", "generic"]),
                name="webhooksubscription_format_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        HELD = "held", "Held for a digest"
        MERGED = "merged", "Sent in a digest"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"

    class Hold(models.TextChoices):
        NONE = "", "Not held"
        THROTTLED = "throttled", "Too many in a minute"
        DAILY = "daily", "Daily digest"

    channel = models.CharField(max_length=10, choices=Channel.choices)
    # "user:<id>" or "hook:<id>": who receives it, whatever the channel.
    target = models.CharField(max_length=30)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subscription = models.ForeignKey(
        WebhookSubscription,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_type = models.CharField(max_length=20)
    event_key = models.CharField(max_length=120)
    sprint = models.ForeignKey(
        "sprints.Sprint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    facts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    hold = models.CharField(max_length=10, choices=Hold.choices, default="", blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    digest = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One event → at most one message per person (or webhook) per channel.
            models.UniqueConstraint(
                fields=["channel", "target", "event_key"], name="delivery_once_per_target"
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=["inbox", "email", "webhook"]),
                name="delivery_channel_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "target", "created_at"], name="delivery_target_recent"),
            models.Index(fields=["status", "due_at"], name="delivery_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target}: {self.title}"


class Notification(models.Model):
    """An inbox message of one person."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event_type = models.CharField(max_length=20)
    event_key = models.CharField(max_length=120)
    sprint = models.ForeignKey(
        "sprints.Sprint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event_key"], name="notification_once_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title
