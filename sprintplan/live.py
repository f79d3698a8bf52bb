"""Live updates: committed changes pushed to open pages as server-sent events.

A page holds one stream (`event_stream`) naming the topics it shows ("sprint:12"; every
stream also hears ALL). Nothing here is new bookkeeping of changes: the publishers are the
existing after-commit mechanisms. `derived.changed` and the services' events
(sprintplan.events) reach `on_data_changed` / `on_ticket_changed` after their transaction
commits, which turn them into a `Message` of topics and publish it on the channel:

- with REDIS_URL (the real stack) on a Redis pub/sub channel, so a change made by any web
  process or worker reaches the streams of every web process;
- without it (the embedded default: one process, tasks in-process) straight to this
  process's streams.

Each web process keeps one `Hub`: the open streams of the process and, on the real stack, one
Redis subscription shared by all of them (fan-out in memory, not one Redis connection per
page). A message is a hint, never data: the page answers it by asking its fragments' live
endpoints with the version it shows (`?since=`), and only a fragment whose version moved is
re-rendered. So an idle stream costs no database query, a lost message costs at most the
fallback poll's delay, and nothing private travels on the channel.
"""

import asyncio
import contextlib
import json
import logging
import re
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

from . import events, redis_guard

logger = logging.getLogger(__name__)

ALL = "*"  # every page may show it: a team's rate, the insights, the forecasts ...
TOPIC = re.compile(r"^[a-z_]+:\d+$")
MAX_TOPICS = 20
# Seconds before a Redis subscription that failed is tried again (doubling up to the max).
RESUBSCRIBE_SECONDS = (0.5, 5.0)
# A stream woken by a message waits this long for the rest of its burst.
SETTLE_SECONDS = 0.02
# The client waits this long before reconnecting a stream that ended (SSE `retry:`).
CLIENT_RETRY_MS = 3000


@dataclass(frozen=True)
class Message:
    """What changed, as topics. `source` says why (for logs and tests)."""

    topics: tuple[str, ...]
    source: str = ""

    def to_json(self) -> str:
        return json.dumps({"topics": list(self.topics), "source": self.source})

    @classmethod
    def from_json(cls, raw: str | bytes) -> "Message":
        data = json.loads(raw)
        return cls(tuple(str(topic) for topic in data.get("topics", ())), data.get("source", ""))


def topics_of(kind: str, ids: Iterable[int] | None) -> tuple[str, ...]:
    """("sprint", [3, 4]) -> ("sprint:3", "sprint:4"); ids None: ALL."""
    if ids is None:
        return (ALL,)
    return tuple(f"{kind}:{pk}" for pk in sorted(set(ids)))


def parse_topics(raw: str) -> frozenset[str]:
    """The topics a page asks for ("sprint:12,team:3"). ValueError naming the bad one."""
    topics = frozenset(part.strip() for part in raw.split(",") if part.strip())
    if len(topics) > MAX_TOPICS:
        raise ValueError(f"At most {MAX_TOPICS} topics per stream.")
    for topic in topics:
        if not TOPIC.match(topic):
            raise ValueError(f"Unknown topic {topic!r}: expected a name and a number, 'sprint:12'.")
    return topics


# --- the streams of this process --------------------------------------------------------------


class Subscription:
    """One open stream: the topics it wants and those heard since it last woke up. Bursts
    collapse into one wake-up, so a slow client never makes a queue grow."""

    def __init__(self, topics: Iterable[str], loop: asyncio.AbstractEventLoop):
        self.topics = frozenset(topics)
        self.loop = loop
        self._heard: set[str] = set()
        self._wake = asyncio.Event()

    def wants(self, message: Message) -> bool:
        return ALL in message.topics or not self.topics.isdisjoint(message.topics)

    def hear(self, message: Message) -> None:
        """On the subscription's loop."""
        self._heard.update(message.topics)
        self._wake.set()

    async def next_change(self, timeout: float) -> frozenset[str]:
        """The topics heard, once something was; empty after `timeout` seconds of quiet.
        What arrives within SETTLE_SECONDS of the first message comes along (one commit
        publishes a ticket's edit and its derived change a moment apart: one event)."""
        if not self._heard:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        if self._heard:
            await asyncio.sleep(SETTLE_SECONDS)
        heard, self._heard = frozenset(self._heard), set()
        self._wake.clear()
        return heard


class Hub:
    """This process's open streams and, with Redis, the one subscription feeding them."""

    def __init__(self):
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()  # publishers run in other threads
        self._listeners: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}

    @property
    def stream_count(self) -> int:
        return len(self._subscriptions)

    @contextlib.asynccontextmanager
    async def subscription(self, topics: Iterable[str]) -> AsyncIterator[Subscription]:
        loop = asyncio.get_running_loop()
        subscription = Subscription(topics, loop)
        with self._lock:
            self._subscriptions.add(subscription)
        if settings.REDIS_URL:
            self._ensure_listener(loop)
        try:
            yield subscription
        finally:
            with self._lock:
                self._subscriptions.discard(subscription)
                loop_in_use = any(s.loop is loop for s in self._subscriptions)
            if not loop_in_use:
                await self._stop_listener(loop)

    def deliver(self, message: Message) -> None:
        """From any thread: wake the streams that want `message`, each on its own loop."""
        with self._lock:
            wanting = [s for s in self._subscriptions if s.wants(message)]
        for subscription in wanting:
            with contextlib.suppress(RuntimeError):  # its loop closed: it is going away
                subscription.loop.call_soon_threadsafe(subscription.hear, message)

    # Redis: one subscription per event loop (one per web process under uvicorn).

    def _ensure_listener(self, loop: asyncio.AbstractEventLoop) -> None:
        task = self._listeners.get(loop)
        if task is None or task.done():
            self._listeners[loop] = loop.create_task(self._listen_to_redis())

    async def _stop_listener(self, loop: asyncio.AbstractEventLoop) -> None:
        task = self._listeners.pop(loop, None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen_to_redis(self) -> None:
        """Hand every message on the channel to the streams. After a lost connection,
        resubscribe and tell every stream ALL: what was published meanwhile is lost, the
        pages check their versions."""
        import redis.asyncio

        wait, missed = RESUBSCRIBE_SECONDS[0], False
        while True:
            client = redis.asyncio.Redis.from_url(
                settings.REDIS_URL,
                socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
                health_check_interval=settings.REDIS_HEALTH_CHECK_SECONDS,
            )
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(settings.LIVE_CHANNEL)
                    if missed:
                        self.deliver(Message((ALL,), "resubscribed"))
                    wait, missed = RESUBSCRIBE_SECONDS[0], False
                    while True:
                        raw = await pubsub.get_message(timeout=settings.LIVE_HEARTBEAT_SECONDS)
                        if raw is not None:
                            self._deliver_raw(raw.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Live updates: Redis subscription lost; retrying.", exc_info=True)
                missed = True
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(wait)
            wait = min(wait * 2, RESUBSCRIBE_SECONDS[1])

    def _deliver_raw(self, data) -> None:
        try:
            self.deliver(Message.from_json(data))
        except (TypeError, ValueError):
            logger.warning("Live updates: ignored a malformed message %r.", data)


hub = Hub()


# --- publishing (after commit) ----------------------------------------------------------------

_redis_client = None


def publish(message: Message) -> None:
    """Send `message` to every open stream: over Redis on the real stack, else in-process.
    Never raises: a lost hint costs a page the fallback poll's delay, nothing more."""
    if not message.topics:
        return
    if not settings.REDIS_URL:
        hub.deliver(message)
        return
    try:
        redis_guard.call(_redis().publish, settings.LIVE_CHANNEL, message.to_json())
    except redis_guard.RedisSkipped:
        logger.info("Redis resting after a failure; live message %s not sent.", message)
    except Exception:
        logger.warning("Could not publish live message %s.", message, exc_info=True)


def _redis():
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
            socket_timeout=settings.REDIS_TIMEOUT_SECONDS,
            health_check_interval=settings.REDIS_HEALTH_CHECK_SECONDS,
        )
    return _redis_client


# Sources whose changes concern only the pages of the objects named ("sprint:12").
PAGE_SOURCES = frozenset({"sprint", "pi"})


def on_data_changed(*, source: str, ids: list[int] | None) -> None:
    """events handler of `derived.changed`: a sprint's (an interval's) change concerns its
    own pages; any other source (tickets, teams, insights, forecasts) may show on any page."""
    topics = topics_of(source, ids) if source in PAGE_SOURCES else (ALL,)
    publish(Message(topics, source))


def on_ticket_changed(*, ticket_ids: list[int], sprint_ids: list[int]) -> None:
    """events handler of an edited ticket: the pages of the sprints it was and is in."""
    publish(Message(topics_of("sprint", sprint_ids), "ticket"))


def listen() -> None:
    """Called once at start-up (SprintplanConfig.ready)."""
    events.subscribe(events.DATA_CHANGED, on_data_changed)
    events.subscribe("ticket.changed", on_ticket_changed)


# --- the stream -------------------------------------------------------------------------------


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def event_stream(topics: Iterable[str], *, stream_hub: Hub | None = None):
    """Server-sent events for one page: `changed` with the topics heard, a comment line
    every LIVE_HEARTBEAT_SECONDS so proxies keep the connection, and an end after
    LIVE_STREAM_MAX_SECONDS (the browser reconnects, authenticated afresh). Cancelled when
    the client goes away; leaving the `async with` unsubscribes."""
    loop = asyncio.get_running_loop()
    end = loop.time() + settings.LIVE_STREAM_MAX_SECONDS
    async with (stream_hub or hub).subscription(topics) as subscription:
        yield f"retry: {CLIENT_RETRY_MS}\n" + sse("ready", {"topics": sorted(topics)})
        while (left := end - loop.time()) > 0:
            heard = await subscription.next_change(min(settings.LIVE_HEARTBEAT_SECONDS, left))
            yield sse("changed", {"topics": sorted(heard)}) if heard else ": keep-alive\n\n"


def release_db_connections() -> None:
    """A stream holds no database connection while it waits (50 open pages must not be 50
    idle PostgreSQL connections). Connections inside a transaction (tests) are left alone."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
