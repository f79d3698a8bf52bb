from django.apps import AppConfig


class DependenciesConfig(AppConfig):
    name = "dependencies"

    def ready(self) -> None:
        from sprintplan import derived
        from tickets.services import register_status_gate

        from . import services, tasks  # noqa: F401 (tasks: the worker's signal handlers)

        derived.register(
            derived.DerivedKind(
                services.INSIGHTS,
                services.insights_run,
                queue=derived.GRAPH,
                flag_seconds=services.INSIGHTS_FLAG_SECONDS,
            )
        )
        derived.subscribe("ticket", services.tickets_changed)
        derived.subscribe("ticket_removed", services.tickets_removed)
        register_status_gate(services.done_gate_upstream, order=10)
