from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"

    def ready(self) -> None:
        from sprintplan import derived

        from . import services

        # The Monte Carlo runs on the low-priority worker (derived.BACKGROUND).
        derived.register(
            derived.DerivedKind(
                services.SPRINT_FORECAST, services.forecasts_recompute, queue=derived.BACKGROUND
            )
        )
        derived.subscribe("sprint", services.sprints_changed)
        # Tickets and links (heard through the insights run that consumed their changes) feed
        # the forecasts of the sprints planning them or waiting on them; a team's rate or
        # people, every open sprint's.
        derived.subscribe("insights", services.tickets_changed)
        derived.subscribe("team", services.every_sprint_changed)
