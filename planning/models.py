from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property

from sprintplan.limits import GOAL_TEXT_MAX, NOTE_MAX, max_length_constraint
from sprints.models import Sprint

from .forecast_result import SprintForecast

# --- capacity, adjustments, goals, forecasts --------------------------------------------------


class TeamCapacity(models.Model):
    """A team's capacity settings for one sprint. Members without an availability row count
    as full-time with no days off; the rate is the team's `default_rate` per person-day."""

    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE, related_name="capacities")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="capacities")
    # Share of a working day spent on sprint work (meetings, support and context switching
    # take the rest).
    focus_factor = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal("0.8"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["sprint", "team"]
        constraints = [
            models.UniqueConstraint(fields=["sprint", "team"], name="capacity_unique_sprint_team"),
            models.CheckConstraint(
                condition=models.Q(focus_factor__gt=0) & models.Q(focus_factor__lte=1),
                name="capacity_focus_in_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id} in {self.sprint_id}: focus {self.focus_factor}"


class MemberAvailability(models.Model):
    """One member's availability in a sprint: days off (ISO dates) and part-time share."""

    capacity = models.ForeignKey(
        TeamCapacity, on_delete=models.CASCADE, related_name="availabilities"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    days_off = models.JSONField(default=list, blank=True)
    part_time_percent = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["capacity", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["capacity", "user"], name="availability_unique_capacity_user"
            ),
            models.CheckConstraint(
                condition=models.Q(part_time_percent__lte=100), name="availability_part_time_le_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.part_time_percent}%, {len(self.days_off)} days off"


class CapacityAdjustment(models.Model):
    """A capacity change of a team over dates: "Labeling output x 0.5 from Tuesday:
    annotation tool bug". Dates are inclusive. It belongs to the team's capacity calendar and
    applies to every sprint and PI iteration whose dates overlap it; `sprint` only notes where
    it was raised (kept when that sprint is deleted)."""

    sprint = models.ForeignKey(
        Sprint,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="adjustments",
        help_text="The sprint where the change was raised (a note; it applies by date).",
    )
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="adjustments")
    from_date = models.DateField()
    to_date = models.DateField()
    factor = models.DecimalField(max_digits=6, decimal_places=3)
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "from_date", "id"]
        indexes = [models.Index(fields=["team", "from_date"], name="adjustment_team_from")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(factor__gte=0), name="adjustment_factor_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(from_date__lte=models.F("to_date")),
                name="adjustment_from_not_after_to",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id} x {self.factor} {self.from_date}..{self.to_date}: {self.reason}"


class PublicHoliday(models.Model):
    """A public holiday in a team's calendar: nobody of the team works that day."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["team", "date"]
        constraints = [
            models.UniqueConstraint(fields=["team", "date"], name="holiday_unique_team_date")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class ForecastAssumption(models.Model):
    """An explicit assumption the Scrum master records for a sprint's forecast: "labeling
    does LAB-2 although no sprint plans it". Without one an unplanned blocker never finishes
    in the forecast; with one it competes for its team's capacity from today."""

    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE, related_name="assumptions")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sprint", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sprint", "ticket"], name="assumption_unique_sprint_ticket"
            )
        ]

    def __str__(self) -> str:
        return self.note


class PlanDecision(models.Model):
    """An option of the "What should we do?" panel that someone applied: who, why, and the
    P(goal met) before and as previewed. The change itself went through its own service
    (and its own history)."""

    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE, related_name="plan_decisions")
    kind = models.CharField(max_length=20)
    summary = models.CharField(max_length=300)
    reason = models.CharField(max_length=300)
    p_met_before = models.FloatField(null=True)
    p_met_previewed = models.FloatField(null=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return self.summary


class SprintGoal(models.Model):
    """One goal of a sprint: met when all its tickets are done by its deadline (the sprint's
    end unless the Product Owner moved it)."""

    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE, related_name="goals")
    text = models.TextField(max_length=GOAL_TEXT_MAX)
    deadline = models.DateField(null=True, blank=True)
    tickets = models.ManyToManyField("tickets.Ticket", blank=True, related_name="goals")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sprint", "order", "id"]
        constraints = [
            max_length_constraint("sprintgoal", "text", GOAL_TEXT_MAX),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class ForecastRun(models.Model):
    """One stored Monte Carlo forecast of a sprint. Same inputs_version -> same numbers."""

    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE, related_name="forecast_runs")
    inputs_version = models.CharField(max_length=64)
    seed = models.BigIntegerField()
    trials = models.PositiveIntegerField()
    computed_at = models.DateTimeField()
    duration_ms = models.FloatField()
    result = models.JSONField()

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [models.Index(fields=["sprint", "-id"], name="forecastrun_sprint_latest")]

    def __str__(self) -> str:
        return f"forecast {self.pk} of sprint {self.sprint_id}"

    @cached_property
    def forecast(self) -> SprintForecast:
        """The stored result as typed records (what pages and ceremonies read)."""
        return SprintForecast.from_json(self.result)


class SprintCommitment(models.Model):
    """What the teams committed to when planning ended: scope, capacity and the Definition
    of Done version in force. Written once; later changes are measured against it."""

    sprint = models.OneToOneField(Sprint, on_delete=models.CASCADE, related_name="commitment")
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    committed_at = models.DateTimeField(auto_now_add=True)
    # [{"key", "team", "size", "status"}] at commit time
    scope = models.JSONField(default=list)
    # {"LAB": {"capacity": 1344.0, "committed": 1000.0, "unit": "images"}, ...}
    capacity = models.JSONField(default=dict)
    definition_of_done = models.ForeignKey(
        "quality.DefinitionOfDone",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="commitments",
    )

    def __str__(self) -> str:
        return f"commitment of {self.sprint}"


class Risk(models.Model):
    """A risk raised in a pre-mortem ("what if the labeling data is noisy?"), handled the
    SAFe ROAM way: Resolved, Owned (owner + follow-up date), Accepted (who, why) or
    Mitigated (the tickets that mitigate it). New risks start unROAMed."""

    class State(models.TextChoices):
        OPEN = "open", "Not ROAMed yet"
        RESOLVED = "resolved", "Resolved"
        OWNED = "owned", "Owned"
        ACCEPTED = "accepted", "Accepted"
        MITIGATED = "mitigated", "Mitigated"

    class Level(models.IntegerChoices):
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"

    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE, related_name="risks")
    title = models.CharField(max_length=200)
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
    mitigating_tickets = models.ManyToManyField("tickets.Ticket", blank=True, related_name="risks")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-impact", "-likelihood", "id"]
        constraints = [
            max_length_constraint("risk", "note", NOTE_MAX),
            models.CheckConstraint(
                condition=models.Q(
                    state__in=["open", "resolved", "owned", "accepted", "mitigated"]
                ),
                name="risk_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(likelihood__in=[1, 2, 3]) & models.Q(impact__in=[1, 2, 3]),
                name="risk_levels_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="owned")
                | (models.Q(owner__isnull=False) & models.Q(follow_up__isnull=False)),
                name="risk_owned_has_owner_and_follow_up",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def exposure(self) -> int:
        return self.likelihood * self.impact
