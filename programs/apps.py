from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programs and planning intervals"

    def ready(self) -> None:
        from sprintplan import derived

        from .services import board

        derived.register(
            derived.DerivedKind(
                board.PI_FORECAST, board.pi_forecasts_recompute, queue=derived.BACKGROUND
            )
        )
        # A PI forecast runs the sprint forecasts' engine over the PI's sprints and features:
        # it goes stale whenever theirs does, and when a ticket it reads changed.
        derived.subscribe("sprint", board.sprints_changed)
        derived.subscribe("insights", board.tickets_changed)
        derived.subscribe("team", board.every_pi_changed)
