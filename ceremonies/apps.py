from django.apps import AppConfig


class CeremoniesConfig(AppConfig):
    name = "ceremonies"

    def ready(self) -> None:
        from sprintplan import derived

        from . import services

        # Insight history: when a ticket became blocked or unblocked, and by what.
        derived.register(derived.DerivedKind(services.BLOCKED_SPELLS, services.blocked_spells_run))
        derived.subscribe("insights", services.insights_changed)
        # Each new forecast run is compared with the one before it: goal thresholds
        # crossed, blockers slipping past the sprint's end.
        derived.register(derived.DerivedKind(services.FORECAST_WATCH, services.forecast_watch_run))
        derived.subscribe("sprint_forecast", services.forecasts_changed)
