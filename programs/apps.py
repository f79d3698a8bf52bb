from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programs and planning intervals"

    def ready(self) -> None:
        from sprintplan import derived

        from .services import board

        derived.register(derived.DerivedKind(board.PI_FORECAST, board.pi_forecasts_recompute))
        # A PI forecast runs the sprint forecasts' engine over the PI's sprints: it goes stale
        # whenever theirs does.
        derived.subscribe("sprint", board.sprints_changed)
        derived.subscribe("insights", board.every_pi_changed)
        derived.subscribe("team", board.every_pi_changed)
