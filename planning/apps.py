from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"

    def ready(self) -> None:
        from sprintplan import derived

        from . import services

        derived.register(
            derived.DerivedKind(services.SPRINT_FORECAST, services.forecasts_recompute)
        )
        derived.subscribe("sprint", services.sprints_changed)
        # Tickets, links (through the insights) and teams' rates or people feed every open
        # sprint's forecast.
        derived.subscribe("insights", services.every_sprint_changed)
        derived.subscribe("team", services.every_sprint_changed)
