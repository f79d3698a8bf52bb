"""The sprint calendar: time boxes every other app plans into. The ground floor for time:
tickets, capacity, forecasts and planning intervals point down at it."""

from django.db import models


class Sprint(models.Model):
    class State(models.TextChoices):
        PLANNING = "planning", "Planning"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=100, unique=True)
    start_date = models.DateField()
    end_date = models.DateField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNING)
    goal = models.TextField(blank=True)
    # The teams taking part: only they get capacity rows, boards and forecasts in it. A
    # sprint without any (made before teams were chosen) counts every team in.
    teams = models.ManyToManyField("teams.Team", blank=True, related_name="sprints")
    created_at = models.DateTimeField(auto_now_add=True)
    # Grows with every change, so an edit made on an old copy is refused, not overwritten.
    version = models.PositiveIntegerField(default=1, db_default=1)

    class Meta:
        # The table keeps the name it had when sprints lived in the planning app.
        db_table = "planning_sprint"
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_date__lte=models.F("end_date")),
                name="sprint_start_not_after_end",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["planning", "active", "closed"]),
                name="sprint_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name
