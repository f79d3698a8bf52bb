"""Under ASGI a request crosses between the event loop and a thread as few times as Django
allows: the middleware chain and the sync views run in one thread."""

from asgiref import sync
from asgiref.sync import async_to_sync
from django.test import AsyncClient

# What Django's ASGI handler does for any sync view: the request-started signal, the chain
# (one switch into a thread), back to the loop for the base handler, then one switch each for
# the two process_view steps (login required, CSRF), the view, the render and the close.
MOST_SWITCHES_PER_REQUEST = 8


def test_the_middleware_chain_runs_in_one_thread_under_asgi(scenario, monkeypatch):
    switches: list[str] = []
    to_thread, to_loop = sync.SyncToAsync.__init__, sync.AsyncToSync.__init__

    # Each switch is made by a new wrapper; the ones built once when the chain is loaded
    # (before the request) are not counted.
    def counted_to_thread(self, func, *args, **kwargs):
        switches.append(f"to thread: {getattr(func, '__qualname__', func)}")
        to_thread(self, func, *args, **kwargs)

    def counted_to_loop(self, awaitable, *args, **kwargs):
        switches.append(f"to loop: {getattr(awaitable, '__qualname__', awaitable)}")
        to_loop(self, awaitable, *args, **kwargs)

    async def ask():
        client = AsyncClient()
        await client.aforce_login(scenario.users["viewer"])
        switches.clear()  # count the request only, not the sign-in
        return await client.get("/api/v1/teams/")

    monkeypatch.setattr(sync.SyncToAsync, "__init__", counted_to_thread)
    monkeypatch.setattr(sync.AsyncToSync, "__init__", counted_to_loop)
    answer = async_to_sync(ask)()
    assert answer.status_code == 200
    # With async-capable middleware innermost, each MiddlewareMixin step was a switch (18).
    assert len(switches) <= MOST_SWITCHES_PER_REQUEST, switches
