"""Domain events: a service says what happened, apps above it listen.

Derived data (sprintplan.derived) is recomputed state; events are things people may want to
be told about ("you were mentioned", "LAB-1 became blocked", "the goal's chance dropped").
A service publishes in its transaction:

    events.publish("ticket.mentioned", ticket_id=ticket.pk, user_ids=[...], actor_id=actor.pk)

and every handler subscribed to that name (in an `AppConfig.ready`, e.g. the notifications
app) is called after the transaction commits — never for a change that rolled back — with the
payload as keyword arguments. A failing handler is logged and never fails the change that
published the event: the change is committed already. Lower apps never name the listeners.
"""

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[..., None]
# Said by `derived.changed(source, ids)` for every change, with `source` and `ids`: live pages
# (sprintplan.live) hear it after commit.
DATA_CHANGED = "data.changed"
_HANDLERS: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    if handler not in _HANDLERS[name]:
        _HANDLERS[name].append(handler)


def publish(name: str, **payload) -> None:
    """Call the handlers of `name` after the current transaction commits (at once when none
    is open)."""
    if _HANDLERS.get(name):
        transaction.on_commit(lambda: _deliver(name, payload))


def _deliver(name: str, payload: dict) -> None:
    for handler in list(_HANDLERS.get(name, ())):
        try:
            handler(**payload)
        except Exception:
            logger.exception("Handler %s of event %s failed.", handler, name)
