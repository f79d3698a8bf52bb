"""Processing deliveries in a thread of the web process: the embedded default (no broker).

A webhook stores its delivery and answers; the id is handed here on commit, and one daemon
thread per process works through the queue, so a slow tool server delays only this thread,
never an answer. The same thread runs the retries whose time has come and, when it starts,
picks up what a previous process left accepted. With a broker, Celery does all of this
instead (`integrations.tasks`).
"""

import logging
import queue
import threading

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)

_queue: "queue.Queue[int]" = queue.Queue()
_lock = threading.Lock()
_thread: threading.Thread | None = None
_STOP = -1  # queued by stop(): the thread ends


def submit(delivery_id: int) -> None:
    ensure_running()
    _queue.put(delivery_id)


def ensure_running() -> None:
    """Start the thread if this process has none yet (after a restart it first picks up
    what was left accepted, then runs the retries that fell due meanwhile)."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work, name="sprintplan-deliveries", daemon=True)
            _thread.start()


def poll_seconds() -> float:
    return float(getattr(settings, "INTEGRATIONS_RETRY_POLL_SECONDS", 15))


def _work() -> None:
    from . import services  # services imports this module lazily, too

    _safely(lambda: [services.delivery_process(i) for i in services.pending_delivery_ids(0)])
    while True:
        try:
            delivery_id = _queue.get(timeout=poll_seconds())
        except queue.Empty:
            delivery_id = None
        if delivery_id == _STOP:
            return
        if delivery_id is not None:
            _safely(lambda delivery_id=delivery_id: services.delivery_process(delivery_id))
        _safely(services.retry_due_deliveries)


def _safely(step) -> None:
    """One step with a fresh connection; a failure is logged and the thread goes on."""
    close_old_connections()
    try:
        step()
    except Exception:
        logger.exception("Background delivery processing failed; the catch-up will retry.")
    finally:
        connection.close()


def stop(timeout: float = 30) -> None:
    """End the thread after what it is doing (tests; a process shutting down)."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
    if thread is not None and thread.is_alive():
        _queue.put(_STOP)
        thread.join(timeout)
