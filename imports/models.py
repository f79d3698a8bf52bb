"""Import jobs (a Jira CSV, a Jira site over REST, or a Sprintplan JSON export) and what each
imported ticket and sprint was called in the tool it came from.

The mapping tables (`ImportedIssue`, `ImportedSprint`) live here rather than as a Jira-key
field on Ticket: they carry the site (two Jira sites can both have a PROJ-1), the Jira id,
the fingerprint a re-sync compares and the history already brought in, none of which the
ticket itself needs, and the tickets app stays unaware of any outside tool.
"""

from django.conf import settings
from django.db import models


class ImportJob(models.Model):
    class Source(models.TextChoices):
        CSV = "csv", "Jira CSV export"
        CLOUD = "cloud", "Jira Cloud"
        DC = "dc", "Jira Data Center"
        SPRINTPLAN = "sprintplan", "Sprintplan JSON export"

    class State(models.TextChoices):
        READING = "reading", "Reading the source"
        MAPPING = "mapping", "Waiting for the mapping"
        PREVIEWING = "previewing", "Preparing the preview"
        PREVIEWED = "previewed", "Ready to apply"
        APPLYING = "applying", "Applying"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=12, choices=Source.choices)
    state = models.CharField(max_length=12, choices=State.choices, default=State.READING)
    # The Jira site the keys belong to ("" for a CSV without a site address): keys are
    # unique per site only.
    site = models.CharField(max_length=200, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    # The uploaded file, or what the REST fetch brought (gzipped JSON). Kept until the job is
    # applied, so preview and apply read the same data and a restarted apply resumes.
    payload = models.BinaryField(blank=True, default=b"", editable=False)
    # REST only: the query and, while the job runs, the token encrypted with the key from
    # settings (Fernet); erased when the job ends.
    jql = models.CharField(max_length=500, blank=True)
    auth_user = models.CharField(max_length=200, blank=True)
    credentials = models.TextField(blank=True, editable=False)
    # The plan the preview showed (gzipped JSON): applying walks exactly this.
    plan = models.BinaryField(blank=True, default=b"", editable=False)
    mapping = models.JSONField(default=dict, blank=True)
    catalogue = models.JSONField(default=dict, blank=True)  # what the source holds, for the page
    preview = models.JSONField(default=dict, blank=True)  # counts, first rows, problems
    report = models.JSONField(default=dict, blank=True)  # what applying changed
    phase = models.CharField(max_length=20, blank=True)
    cursor = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    report_updated_at = models.DateTimeField(null=True, blank=True)  # last progress step
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source__in=["csv", "cloud", "dc", "sprintplan"]),
                name="importjob_source_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(done__lte=models.F("total")) | models.Q(total=0),
                name="importjob_done_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} import {self.pk}"


class ImportedIssue(models.Model):
    """A ticket that came from an issue of another tool: the key a re-sync finds it by."""

    site = models.CharField(max_length=200, blank=True)
    key = models.CharField(max_length=64)
    jira_id = models.CharField(max_length=32, blank=True)
    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="imported_from"
    )
    fingerprint = models.CharField(max_length=40)
    job = models.ForeignKey(ImportJob, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "key"], name="importedissue_unique_site_key")
        ]
        indexes = [models.Index(fields=["key"], name="importedissue_key")]

    def __str__(self) -> str:
        return self.key

    @property
    def url(self) -> str:
        return f"{self.site}/browse/{self.key}" if self.site.startswith("http") else ""


class ImportedEvent(models.Model):
    """History entries already brought in for one issue (Jira changelog item refs), so a
    re-sync adds only newer ones. Append-only: one row per issue and chunk that added some,
    written with them, so a chunk's history and its refs commit together."""

    issue = models.ForeignKey(ImportedIssue, on_delete=models.CASCADE, related_name="events")
    refs = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.issue_id}: {len(self.refs)} entries"


class ImportedSprint(models.Model):
    site = models.CharField(max_length=200, blank=True)
    ref = models.CharField(max_length=140)  # "id:<jira id>" or "name:<name>"
    sprint = models.OneToOneField(
        "sprints.Sprint", on_delete=models.CASCADE, related_name="imported_from"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "ref"], name="importedsprint_unique_site_ref")
        ]

    def __str__(self) -> str:
        return self.ref
