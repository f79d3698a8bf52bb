from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "quality"

    def ready(self) -> None:
        from tickets.services import register_status_gate

        from . import services

        register_status_gate(services.done_gate, order=20)
        register_status_gate(services.entry_gate, order=30)
