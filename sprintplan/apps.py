from django.apps import AppConfig


class SprintplanConfig(AppConfig):
    """The core: errors, the API error shape, the derived-data registry and its tasks."""

    name = "sprintplan"
    verbose_name = "Sprintplan core"

    def ready(self) -> None:
        # The registry queues its one task by name: make sure the task is registered in
        # every process, not only in a worker that autodiscovers it.
        from . import live, tasks  # noqa: F401

        live.listen()  # committed changes reach the open pages' streams
