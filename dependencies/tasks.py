"""Celery hooks of the insights. Their runs are sprintplan.tasks.recompute_derived ("insights",
on the graph queue); what is left here is the worker's own copy of the graph."""

from celery.signals import worker_init

from . import services


@worker_init.connect
def keep_graph_mirror(**_kwargs) -> None:
    """The worker runs most recomputes: it keeps the graph in memory between them (see
    dependencies.mirror). Connected before the pool starts, so every pool process keeps one."""
    services.enable_mirror()
