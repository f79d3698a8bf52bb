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


def test_concurrent_requests_take_turns_in_one_thread(db):
    """The project's ASGI application runs the synchronous part of every request of a process
    in one thread (Django's own handler gives each request a thread, and under load they
    contend for the interpreter lock)."""
    import asyncio
    import threading

    from asgiref.testing import ApplicationCommunicator
    from django.core.signals import request_started

    from sprintplan.asgi import application

    threads: set[int] = set()

    def seen(**_):
        threads.add(threading.get_ident())

    async def ask(path: str) -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 1), "server": ("testserver", 80),
        }  # fmt: skip
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(timeout=10)
        await communicator.receive_output(timeout=10)  # the body
        return start["status"]

    async def burst():
        return await asyncio.gather(*(ask("/api/v1/teams/") for _ in range(6)))

    request_started.connect(seen)
    try:
        statuses = async_to_sync(burst)()
    finally:
        request_started.disconnect(seen)
    assert statuses == [401] * 6  # answered: not signed in
    assert len(threads) == 1, threads
