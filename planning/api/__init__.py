"""Planning's API, one module per area; each registers its own viewsets (sprints first:
the others nest under /sprints/{id}/)."""

from . import forecasting, options, risks, sprints


def register(router) -> None:
    sprints.register(router)
    forecasting.register(router)
    options.register(router)
    risks.register(router)
