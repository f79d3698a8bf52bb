"""Integrations that feed Sprintplan (Label Studio, MLflow, JUnit uploads, Weights & Biases,
DVC and Prodigy pushes from CI, the evidence API), the raw deliveries they send, and what
Label Studio told us about its annotations."""

from django.conf import settings
from django.db import models
from django.db.models import Q

KINDS = ["label_studio", "mlflow", "junit", "api", "wandb", "dvc", "prodigy"]
DELIVERY_STATUSES = ["accepted", "rejected", "processed", "failed"]


class Integration(models.Model):
    """One configured source. It acts through its own service user, a member of the one team
    it feeds, so the ordinary permission rules hold for everything it writes."""

    class Kind(models.TextChoices):
        LABEL_STUDIO = "label_studio", "Label Studio"
        MLFLOW = "mlflow", "MLflow"
        JUNIT = "junit", "JUnit upload"
        API = "api", "Evidence API"
        WANDB = "wandb", "Weights & Biases"
        DVC = "dvc", "DVC (from CI)"
        PRODIGY = "prodigy", "Prodigy (from CI)"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="integrations")
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="integration"
    )
    # Kept in clear: the MLflow signature is an HMAC keyed with it. Shown once on creation
    # or rotation; never listed.
    secret = models.CharField(max_length=128)
    # MLflow: {"tracking_uri": "http://mlflow:5000"}; W&B: {"api_url": "https://api.wandb.ai",
    # "api_key": "…"} to read run summaries (the key is never listed).
    config = models.JSONField(default=dict, blank=True)
    # Paused: deliveries are refused like those of an unknown integration, nothing is lost
    # on our side (the sender keeps or drops them). Deleted: the same, and hidden; its
    # deliveries are kept for the record.
    is_active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    rejected_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=KINDS), name="integration_kind_valid"),
            models.CheckConstraint(condition=~Q(secret=""), name="integration_has_secret"),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(deleted_at__isnull=True),
                name="integration_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """A raw request as received. Stored before any processing, so nothing is lost."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="deliveries"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    # Delivery id (MLflow) or body hash: a second delivery with the same key is a duplicate.
    # Null on rejected deliveries, so a forged copy never blocks the real one.
    dedup_key = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    event = models.CharField(max_length=60, blank=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Processing attempts so far; a failed delivery with next_attempt_at is retried then.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # False for a request without valid credentials: only a bounded sample of those is kept.
    authenticated = models.BooleanField(default=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DELIVERY_STATUSES), name="delivery_status_valid"
            ),
            models.UniqueConstraint(
                fields=["integration", "dedup_key"],
                condition=Q(dedup_key__isnull=False),
                name="delivery_unique_dedup_key",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | Q(dedup_key__isnull=True),
                name="delivery_rejected_not_deduplicated",
            ),
        ]
        indexes = [models.Index(fields=["integration", "-received_at"], name="delivery_recent")]

    def __str__(self) -> str:
        return f"{self.integration_id} {self.event} {self.status}"


class LabelStudioProject(models.Model):
    """A Label Studio project feeding one labeling ticket."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="label_studio_projects"
    )
    project_id = models.PositiveIntegerField()
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="label_studio_projects"
    )
    # Progress the ticket had by hand is kept until Label Studio's count passes it, unless
    # the lead chose, when linking, to let Label Studio's count replace it.
    keep_manual_progress = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "project_id"], name="ls_project_unique_per_integration"
            )
        ]

    def __str__(self) -> str:
        return f"Label Studio project {self.project_id}"


class LabelStudioAnnotation(models.Model):
    """The labels each annotation chose, kept to compute agreement across annotators."""

    project = models.ForeignKey(
        LabelStudioProject, on_delete=models.CASCADE, related_name="annotations"
    )
    annotation_id = models.PositiveBigIntegerField()
    task_id = models.PositiveBigIntegerField()
    labels = models.JSONField(default=list)
    was_cancelled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task_id", "annotation_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "annotation_id"], name="ls_annotation_unique_per_project"
            )
        ]
        indexes = [models.Index(fields=["project", "task_id"], name="ls_annotation_task")]

    def __str__(self) -> str:
        return f"annotation {self.annotation_id} on task {self.task_id}"


class ProdigyDataset(models.Model):
    """A Prodigy dataset whose `db-out` exports feed one labeling ticket. `batch_size` is the
    number of examples in the batch; without it the ticket's size is used when the team
    counts in items."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="prodigy_datasets"
    )
    dataset = models.CharField(max_length=100)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="prodigy_datasets"
    )
    batch_size = models.PositiveIntegerField(null=True, blank=True)
    # As for Label Studio: progress entered by hand is only ever raised by the exports.
    keep_manual_progress = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "dataset"], name="prodigy_dataset_unique_per_integration"
            ),
            models.CheckConstraint(condition=~Q(dataset=""), name="prodigy_dataset_named"),
        ]

    def __str__(self) -> str:
        return f"Prodigy dataset {self.dataset}"
