"""The ASGI entry point: uvicorn in `make run`, and the live service of docker-compose and deploy/.

Django's own handler gives every request a thread of its own for its synchronous part (the
middleware chain, the views, the ORM). Under load a web process then runs many requests'
Python at once, in as many threads, and they contend for the interpreter lock: a PATCH cost
about 37 ms of CPU there against 25 ms in a sync worker (docs/benchmarks.md, load run 7).
Here the synchronous parts of all requests of a process take turns in one thread, as a sync
worker's would, while the event loop stays free for what is asynchronous: reading bodies,
sending answers, and the open pages' live streams, which hold no thread at all."""

import os

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sprintplan.settings")


class OneSyncThreadASGIHandler(ASGIHandler):
    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # Without Django's per-request ThreadSensitiveContext, asgiref runs thread-sensitive
        # code in its one shared thread: requests queue for it instead of competing.
        await self.handle(scope, receive, send)


django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does
application = OneSyncThreadASGIHandler()
