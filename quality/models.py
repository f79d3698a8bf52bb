"""The shared Definition of Done, its criteria, the evidence for them, handoff artifacts.

A Definition of Done is versioned: revising it writes a new version with a full set of
criteria; the highest version is the one in force. A criterion keeps its `code` across
versions, so evidence recorded under an older version still counts for the same check
(metric evidence is re-judged against the threshold in force).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from sprintplan.limits import NOTE_MAX, max_length_constraint


class DefinitionOfDone(models.Model):
    version = models.PositiveIntegerField(unique=True)
    note = models.TextField(max_length=NOTE_MAX, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            max_length_constraint("definitionofdone", "note", NOTE_MAX),
            models.CheckConstraint(condition=Q(version__gte=1), name="dod_version_gte_1"),
            models.CheckConstraint(
                condition=Q(accepted_by__isnull=True) | Q(accepted_at__isnull=False),
                name="dod_accepted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Definition of Done v{self.version}"


KINDS = ["manual", "metric", "test_suite"]
COMPARATORS = [">", ">=", "<", "<=", "=="]


class Criterion(models.Model):
    """One check, owned by a team. Part of a DoD version, or one ticket's acceptance criterion."""

    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual check"
        METRIC = "metric", "Metric threshold"
        TEST_SUITE = "test_suite", "Test suite result"

    class Comparator(models.TextChoices):
        GT = ">", ">"
        GTE = ">=", "≥"
        LT = "<", "<"
        LTE = "<=", "≤"
        EQ = "==", "="

    definition = models.ForeignKey(
        DefinitionOfDone, null=True, blank=True, on_delete=models.CASCADE, related_name="criteria"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="acceptance_criteria",
    )
    code = models.SlugField(max_length=60, help_text="Stable across DoD versions, e.g. iaa.")
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="criteria")
    text = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    metric_key = models.CharField(max_length=100, blank=True)
    comparator = models.CharField(max_length=2, choices=Comparator.choices, blank=True)
    threshold = models.DecimalField(max_digits=30, decimal_places=10, null=True, blank=True)
    # Applicability: empty lists mean "any". A goal-level criterion is judged once per sprint.
    ticket_types = models.JSONField(default=list, blank=True)
    team_kinds = models.JSONField(default=list, blank=True)
    goal_level = models.BooleanField(default=False)
    # Tickets blocked by a ticket this applies to may not start until it passes there.
    entry_gate = models.BooleanField(default=False)
    # Manual checks may also pass on their own once these artifact kinds are recorded.
    required_artifacts = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=KINDS), name="criterion_kind_valid"),
            models.CheckConstraint(
                condition=Q(definition__isnull=True) ^ Q(ticket__isnull=True),
                name="criterion_in_dod_xor_ticket",
            ),
            models.CheckConstraint(
                condition=~Q(kind="metric")
                | (~Q(metric_key="") & Q(comparator__in=COMPARATORS) & Q(threshold__isnull=False)),
                name="criterion_metric_complete",
            ),
            models.CheckConstraint(
                condition=Q(kind="metric") | (Q(comparator="") & Q(threshold__isnull=True)),
                name="criterion_threshold_only_for_metric",
            ),
            models.CheckConstraint(
                condition=~(Q(goal_level=True) & Q(ticket__isnull=False)),
                name="criterion_acceptance_not_goal_level",
            ),
            models.UniqueConstraint(
                fields=["definition", "code"],
                condition=Q(definition__isnull=False),
                name="criterion_code_unique_in_dod",
            ),
            models.UniqueConstraint(
                fields=["ticket", "code"],
                condition=Q(ticket__isnull=False),
                name="criterion_code_unique_on_ticket",
            ),
        ]

    def __str__(self) -> str:
        return self.text


SOURCES = ["manual", "label_studio", "mlflow", "junit", "api", "wandb", "dvc", "prodigy"]


class Evidence(models.Model):
    """Append-only. The latest row per (criterion code, ticket or sprint) decides."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        LABEL_STUDIO = "label_studio", "Label Studio"
        MLFLOW = "mlflow", "MLflow"
        JUNIT = "junit", "JUnit upload"
        API = "api", "API"
        WANDB = "wandb", "Weights & Biases"
        DVC = "dvc", "DVC"
        PRODIGY = "prodigy", "Prodigy"

    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="evidence")
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    # Goal scope: evidence for a goal-level criterion is about one sprint's goal.
    sprint = models.ForeignKey(
        "sprints.Sprint", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    value = models.DecimalField(max_digits=30, decimal_places=10, null=True, blank=True)
    passed = models.BooleanField()
    source = models.CharField(max_length=20, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_by_name = models.CharField(
        max_length=150, help_text="The person's username or the integration's name."
    )
    recorded_at = models.DateTimeField(db_index=True)
    source_url = models.URLField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ticket__isnull=True) ^ Q(sprint__isnull=True),
                name="evidence_ticket_xor_sprint",
            ),
            models.CheckConstraint(condition=Q(source__in=SOURCES), name="evidence_source_valid"),
            models.CheckConstraint(
                condition=~Q(recorded_by_name=""), name="evidence_recorded_by_named"
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "-recorded_at"], name="evidence_ticket_at"),
            models.Index(fields=["sprint", "-recorded_at"], name="evidence_sprint_at"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id}: {'passed' if self.passed else 'failed'}"


ARTIFACT_KINDS = ["dataset_version", "model_version", "code_commit"]


class Artifact(models.Model):
    """An immutable reference a ticket produced or consumed (written once, never edited)."""

    class Kind(models.TextChoices):
        DATASET_VERSION = "dataset_version", "Dataset version"
        MODEL_VERSION = "model_version", "Model version"
        CODE_COMMIT = "code_commit", "Code commit"

    class Direction(models.TextChoices):
        PRODUCED = "produced", "Produced"
        CONSUMED = "consumed", "Consumed"

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    # dataset: name + revision (DVC/git) or Label Studio export id (version) + checksum;
    # model: MLflow model name + version + run id; code: repository (name) + commit (revision).
    name = models.CharField(max_length=200, blank=True)
    version = models.CharField(max_length=100, blank=True)
    revision = models.CharField(max_length=100, blank=True)
    run_id = models.CharField(max_length=100, blank=True)
    checksum = models.CharField(max_length=200, blank=True)
    uri = models.CharField(max_length=500, blank=True)
    # A consumed artifact that a blocker handed over across the dependency link (a dataset
    # revision the labeling ticket produced, read by the training ticket's pipeline).
    handed_over_by = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="artifacts_handed_over",
    )
    # What the recording tool knew besides the identity: sizes, file counts, and for a model
    # the dataset revisions it was produced from.
    details = models.JSONField(default=dict, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ARTIFACT_KINDS), name="artifact_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=["produced", "consumed"]), name="artifact_direction_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind="model_version") | (~Q(name="") & ~Q(version="") & ~Q(run_id="")),
                name="artifact_model_complete",
            ),
            models.CheckConstraint(
                condition=~Q(kind="code_commit") | ~Q(revision=""),
                name="artifact_commit_has_revision",
            ),
            models.CheckConstraint(
                condition=~Q(kind="dataset_version")
                | ~Q(revision="")
                | (~Q(version="") & ~Q(checksum="")),
                name="artifact_dataset_pinned",
            ),
            models.UniqueConstraint(
                fields=["ticket", "kind", "direction", "name", "version", "revision", "run_id"],
                name="artifact_unique_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} {self.version or self.revision}".strip()
