"""Celery entry points. Thin: they call the service; safe to run twice (idempotent)."""

import logging

from celery import shared_task
from celery.signals import worker_init, worker_ready

from . import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def recompute_insights(full: bool = False) -> None:
    # Clear the flag first: a change committed from now on queues another run, so the
    # last change is always reflected.
    services.clear_recompute_flag()
    report = services.insights_recompute(full=full)
    if report.changes_consumed or full:
        logger.info(
            "insight recompute: %d change(s), %d row(s) written in %.1f ms (%s)",
            report.changes_consumed,
            report.rows_written,
            report.duration_ms,
            report.path,
        )
    if report.changes_consumed:
        _forecasts_changed()
    _rebuild_mirror()


def _rebuild_mirror() -> None:
    """The run left this worker's mirror of the graph stale (another process ran the last
    recompute, or a link was written around the services): build it again for the next runs.
    Its work committed: a failure here costs only speed."""
    try:
        services.rebuild_mirror_if_due()
    except Exception:
        logger.exception("Could not rebuild the graph mirror; recomputes read the database.")


def _forecasts_changed() -> None:
    """Tickets or links changed: every open sprint's forecast may move (issue #4). The
    forecast's own marker and coalescing take over from here; a failure here must not fail
    the insight recompute, whose work is committed."""
    from planning.services import forecast_changed

    try:
        forecast_changed(sprint_ids=None)
    except Exception:
        logger.exception("Could not mark the forecasts stale; the periodic catch-up will.")


@worker_init.connect
def keep_graph_mirror(**_kwargs) -> None:
    """The worker runs most recomputes: it keeps the graph in memory between them (see
    dependencies.mirror). Connected before the pool starts, so every pool process keeps one."""
    services.enable_mirror()


@worker_ready.connect
def catch_up_on_start(**_kwargs) -> None:
    """A worker that (re)starts consumes whatever changed while none was running."""
    recompute_insights.delay()
