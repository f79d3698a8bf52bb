from django.apps import AppConfig


class WebConfig(AppConfig):
    """The top floor: pages (and the ticket endpoint) that join several apps."""

    name = "web"
    verbose_name = "Pages"
