"""Program level (SAFe style): programs of teams, planning intervals (PIs) made of sprints,
features spanning teams and sprints, milestones, PI objectives, program risks, RACI and
decision records. Derived figures (board placement, forecasts) are computed elsewhere."""

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property

from accounts.models import User
from planning.models import Risk
from sprintplan.limits import DECISION_TEXT_MAX, DESCRIPTION_MAX, NOTE_MAX, max_length_constraint

from .pi_forecast_result import PIForecast

ROAM_STATES = ["open", "resolved", "owned", "accepted", "mitigated"]


class Program(models.Model):
    """Teams that deliver one product together (e.g. the recommendation engine)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    teams = models.ManyToManyField("teams.Team", blank=True, related_name="programs")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            max_length_constraint("program", "description", DESCRIPTION_MAX),
        ]

    def __str__(self) -> str:
        return self.name


class PlanningInterval(models.Model):
    """A PI: several sprints (its iterations) planned together, with dates."""

    class State(models.TextChoices):
        PLANNING = "planning", "Planning"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="intervals")
    name = models.CharField(max_length=100)
    start_date = models.DateField()
    end_date = models.DateField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "start_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="pi_unique_name"),
            models.CheckConstraint(
                condition=models.Q(start_date__lte=models.F("end_date")),
                name="pi_start_not_after_end",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["planning", "active", "closed"]),
                name="pi_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program} · {self.name}"


class Iteration(models.Model):
    """A sprint taking part in a PI, numbered 1..n. A sprint belongs to at most one PI."""

    pi = models.ForeignKey(PlanningInterval, on_delete=models.CASCADE, related_name="iterations")
    sprint = models.OneToOneField(
        "sprints.Sprint", on_delete=models.CASCADE, related_name="iteration"
    )
    number = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["pi", "number"]
        constraints = [
            models.UniqueConstraint(fields=["pi", "number"], name="iteration_unique_number"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1), name="iteration_number_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pi} · I{self.number}"


class Milestone(models.Model):
    """A dated event on the program board, e.g. the platform release date."""

    class Kind(models.TextChoices):
        RELEASE = "release", "Release"
        ML = "ml", "ML milestone"
        EVENT = "event", "Event"

    pi = models.ForeignKey(PlanningInterval, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=120)
    date = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EVENT)
    hard = models.BooleanField(default=False, help_text="A fixed date that cannot move.")

    class Meta:
        ordering = ["pi", "date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["release", "ml", "event"]),
                name="milestone_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.date})"


class Feature(models.Model):
    """An epic of a PI: owned by one team, delivered by tickets of any teams. Dependencies
    between features are not stored: they follow from the links between their tickets."""

    pi = models.ForeignKey(PlanningInterval, on_delete=models.CASCADE, related_name="features")
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="features")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    # The iteration it is planned to finish in (set at PI planning; None = not yet placed).
    planned_sprint = models.ForeignKey(
        "sprints.Sprint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.SET_NULL, related_name="features"
    )
    tickets = models.ManyToManyField(
        "tickets.Ticket", through="FeatureTicket", blank=True, related_name="features"
    )
    rank = models.IntegerField(default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pi", "rank", "id"]
        constraints = [
            max_length_constraint("feature", "description", DESCRIPTION_MAX),
        ]

    def __str__(self) -> str:
        return self.title


class FeatureTicket(models.Model):
    """A ticket delivers (part of) at most one feature."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="ticket_links")
    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="feature_link"
    )

    def __str__(self) -> str:
        return f"{self.ticket_id} in feature {self.feature_id}"


class Objective(models.Model):
    """A team's PI objective. Business value 1-10 is planned at PI planning (None while the
    team's lead drafts it); the actual value 0-10 is set at the end. Uncommitted (stretch)
    objectives add to the actual value only."""

    pi = models.ForeignKey(PlanningInterval, on_delete=models.CASCADE, related_name="objectives")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="objectives")
    title = models.CharField(max_length=200)
    committed = models.BooleanField(default=True)
    # Set by the PO (or Scrum master) at PI planning; None while the team drafts it.
    planned_value = models.PositiveSmallIntegerField(null=True, blank=True)
    actual_value = models.PositiveSmallIntegerField(null=True, blank=True)
    features = models.ManyToManyField(Feature, blank=True, related_name="objectives")
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pi", "team", "-committed", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(planned_value__isnull=True)
                | (models.Q(planned_value__gte=1) & models.Q(planned_value__lte=10)),
                name="objective_planned_value_1_10",
            ),
            models.CheckConstraint(
                condition=models.Q(actual_value__isnull=True)
                | (models.Q(actual_value__gte=0) & models.Q(actual_value__lte=10)),
                name="objective_actual_value_0_10",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ProgramRisk(models.Model):
    """A cross-team risk of a PI, ROAMed like the sprint pre-mortem risks. Its expected
    delay can be fed to the forecast as a capacity adjustment of the team it hits."""

    State = Risk.State
    Level = Risk.Level

    pi = models.ForeignKey(PlanningInterval, on_delete=models.CASCADE, related_name="risks")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    likelihood = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.MEDIUM)
    impact = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.MEDIUM)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    follow_up = models.DateField(null=True, blank=True)
    note = models.TextField(
        max_length=NOTE_MAX, blank=True, help_text="Why it is accepted, or how it was resolved."
    )
    tickets = models.ManyToManyField("tickets.Ticket", blank=True, related_name="program_risks")
    team = models.ForeignKey(
        "teams.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The team whose work the risk would delay.",
    )
    expected_delay_days = models.PositiveSmallIntegerField(default=0)
    # The capacity adjustment this risk was fed to the forecast as, if any.
    adjustment = models.OneToOneField(
        "planning.CapacityAdjustment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="program_risk",
    )
    # Raised in a sprint pre-mortem first, then taken to program level.
    source_risk = models.OneToOneField(
        Risk, null=True, blank=True, on_delete=models.SET_NULL, related_name="program_risk"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["-impact", "-likelihood", "id"]
        constraints = [
            max_length_constraint("programrisk", "description", DESCRIPTION_MAX),
            max_length_constraint("programrisk", "note", NOTE_MAX),
            models.CheckConstraint(
                condition=models.Q(state__in=ROAM_STATES), name="program_risk_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(likelihood__in=[1, 2, 3]) & models.Q(impact__in=[1, 2, 3]),
                name="program_risk_levels_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="owned")
                | (models.Q(owner__isnull=False) & models.Q(follow_up__isnull=False)),
                name="program_risk_owned_has_owner_and_follow_up",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def exposure(self) -> int:
        return self.likelihood * self.impact


class RaciActivity(models.Model):
    """A row of the program's RACI matrix, e.g. "data quality checks"."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="raci_activities")
    name = models.CharField(max_length=120)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["program", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="raci_activity_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class RaciAssignment(models.Model):
    """One cell of the RACI matrix: a team or a product role is R, A, C or I for an
    activity. The database holds at most one A per activity; the service refuses zero."""

    class Letter(models.TextChoices):
        RESPONSIBLE = "R", "Responsible"
        ACCOUNTABLE = "A", "Accountable"
        CONSULTED = "C", "Consulted"
        INFORMED = "I", "Informed"

    activity = models.ForeignKey(RaciActivity, on_delete=models.CASCADE, related_name="assignments")
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=20, blank=True)  # a product role, e.g. product_owner
    letter = models.CharField(max_length=1, choices=Letter.choices)

    class Meta:
        ordering = ["activity", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(letter__in=["R", "A", "C", "I"]), name="raci_letter_valid"
            ),
            models.CheckConstraint(
                condition=(models.Q(team__isnull=False) & models.Q(role=""))
                | (models.Q(team__isnull=True) & ~models.Q(role="")),
                name="raci_team_xor_role",
            ),
            models.UniqueConstraint(
                fields=["activity", "team"],
                condition=models.Q(team__isnull=False),
                name="raci_unique_team_per_activity",
            ),
            models.UniqueConstraint(
                fields=["activity", "role"],
                condition=~models.Q(role=""),
                name="raci_unique_role_per_activity",
            ),
            models.UniqueConstraint(
                fields=["activity"],
                condition=models.Q(letter="A"),
                name="raci_one_accountable_per_activity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_letter_display()} ({self.team or self.get_role_display()})"

    def get_role_display(self) -> str:
        """The product role in words ("Product Owner"), as the RACI page names it."""
        return dict(User.ProductRole.choices).get(self.role, self.role)


class Decision(models.Model):
    """A decision record (ADR style): context, decision, consequences; linked to the
    tickets and sprints it concerns so it shows on their pages."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        SUPERSEDED = "superseded", "Superseded"
        REJECTED = "rejected", "Rejected"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="decisions")
    number = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200)
    context = models.TextField(max_length=DECISION_TEXT_MAX)
    decision = models.TextField(max_length=DECISION_TEXT_MAX)
    consequences = models.TextField(max_length=DECISION_TEXT_MAX, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROPOSED)
    decided_on = models.DateField()
    tickets = models.ManyToManyField("tickets.Ticket", blank=True, related_name="decisions")
    sprints = models.ManyToManyField("sprints.Sprint", blank=True, related_name="decisions")
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["program", "-number"]
        constraints = [
            max_length_constraint("decision", "context", DECISION_TEXT_MAX),
            max_length_constraint("decision", "decision", DECISION_TEXT_MAX),
            max_length_constraint("decision", "consequences", DECISION_TEXT_MAX),
            models.UniqueConstraint(fields=["program", "number"], name="decision_unique_number"),
            models.CheckConstraint(
                condition=models.Q(status__in=["proposed", "accepted", "superseded", "rejected"]),
                name="decision_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(superseded_by=models.F("id")),
                name="decision_not_superseded_by_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"DR-{self.number} {self.title}"


class ProgramForecastRun(models.Model):
    """One Monte Carlo forecast of a whole PI: per feature finish dates and sprints, per
    milestone P(met). Runs are kept, so P(milestone met) can be charted over time."""

    pi = models.ForeignKey(PlanningInterval, on_delete=models.CASCADE, related_name="forecast_runs")
    inputs_version = models.CharField(max_length=64)
    seed = models.BigIntegerField()
    trials = models.PositiveIntegerField()
    computed_at = models.DateTimeField()
    duration_ms = models.FloatField()
    result = models.JSONField()

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["pi", "-id"], name="programforecast_pi_latest")]

    def __str__(self) -> str:
        return f"forecast {self.pk} of PI {self.pi_id}"

    @cached_property
    def forecast(self) -> PIForecast:
        """The stored result as typed records (what the board and reviews read)."""
        return PIForecast.from_json(self.result)
