"""Program-level API, one module per area; each registers its own viewsets."""

from importlib import import_module

AREAS = ["programs.api.board", "programs.api.governance", "programs.api.insight"]


def register(router) -> None:
    for area in AREAS:
        module = import_module(area)
        module.register(router)
