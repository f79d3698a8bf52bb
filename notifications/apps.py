from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from . import listeners, tasks  # noqa: F401 (the delivery task is queued by name)

        listeners.subscribe_all()
