"""Live updates (sprintplan.live): the in-process channel delivers a published message to the
streams that want it, a stream that goes away leaves nothing behind, committed changes (and
only those) are published, and the stream endpoint asks for a signed-in person and costs no
database query while it waits."""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.db.backends.utils import CursorWrapper
from django.test import AsyncClient

from sprintplan import live
from tickets.services import ticket_update

from ..factories import TicketFactory


def run(coroutine):
    """Run a coroutine to its end on a loop of its own, in its own thread: the browser tests
    that ran before in the same process may have left an event loop running on this one."""
    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# --- the channel --------------------------------------------------------------------------


def _from_another_thread(function, *args) -> None:
    """Publishers run in request threads or task threads, never on a stream's loop."""
    thread = threading.Thread(target=function, args=args)
    thread.start()
    thread.join()


def test_a_published_message_reaches_the_streams_of_its_topic_and_no_other():
    hub = live.Hub()

    async def scenario():
        async with (
            hub.subscription({"sprint:1"}) as sprint_one,
            hub.subscription({"sprint:2"}) as sprint_two,
        ):
            _from_another_thread(hub.deliver, live.Message(("sprint:1",), "ticket"))
            return await sprint_one.next_change(1), await sprint_two.next_change(0.05)

    heard_by_one, heard_by_two = run(scenario())
    assert heard_by_one == {"sprint:1"}
    assert heard_by_two == frozenset()


def test_a_message_for_all_reaches_every_stream():
    hub = live.Hub()

    async def scenario():
        async with hub.subscription({"sprint:1"}) as one, hub.subscription({"pi:4"}) as two:
            _from_another_thread(hub.deliver, live.Message((live.ALL,), "insights"))
            return await one.next_change(1), await two.next_change(1)

    assert run(scenario()) == ({live.ALL}, {live.ALL})


def test_a_burst_of_messages_wakes_a_stream_once_with_every_topic():
    """A slow client never makes a queue grow: what it has not taken yet is merged."""
    hub = live.Hub()

    async def scenario():
        async with hub.subscription({"sprint:1", "sprint:2"}) as stream:
            for topic in ("sprint:1", "sprint:2", "sprint:1"):
                _from_another_thread(hub.deliver, live.Message((topic,)))
            await asyncio.sleep(0)  # the loop runs the deliveries
            return await stream.next_change(1), await stream.next_change(0.05)

    first, second = run(scenario())
    assert first == {"sprint:1", "sprint:2"}
    assert second == frozenset()


def test_a_stream_that_ends_or_is_cancelled_unsubscribes():
    hub = live.Hub()

    async def scenario():
        ended = live.event_stream({"sprint:1"}, stream_hub=hub)
        assert "event: ready" in await anext(ended)
        cancelled = asyncio.ensure_future(
            _read_all(live.event_stream({"sprint:1"}, stream_hub=hub))
        )
        await asyncio.sleep(0.05)
        open_streams = hub.stream_count
        await ended.aclose()  # the client went away between two events
        cancelled.cancel()  # the server cancels the response on a disconnect
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        return open_streams, hub.stream_count

    assert run(scenario()) == (2, 0)


async def _read_all(stream):
    async for _ in stream:
        pass


def test_an_idle_stream_sends_heartbeats_and_a_change_as_an_event(settings):
    settings.LIVE_HEARTBEAT_SECONDS = 0.02
    hub = live.Hub()

    async def scenario():
        stream = live.event_stream({"sprint:3"}, stream_hub=hub)
        chunks = [await anext(stream), await anext(stream)]
        hub.deliver(live.Message(("sprint:3",), "ticket"))
        chunks.append(await anext(stream))
        await stream.aclose()
        return chunks

    ready, heartbeat, changed = run(scenario())
    assert ready.startswith("retry: ")
    assert heartbeat == ": keep-alive\n\n"
    assert changed == 'event: changed\ndata: {"topics": ["sprint:3"]}\n\n'


def test_a_stream_ends_after_its_maximum_age(settings):
    """So the browser reconnects now and then, authenticated afresh."""
    settings.LIVE_STREAM_MAX_SECONDS = 0.05
    settings.LIVE_HEARTBEAT_SECONDS = 0.02
    hub = live.Hub()

    async def scenario():
        return [chunk async for chunk in live.event_stream({"sprint:1"}, stream_hub=hub)]

    chunks = run(asyncio.wait_for(scenario(), 2))
    assert chunks[0].startswith("retry: ")
    assert hub.stream_count == 0


@pytest.mark.parametrize(
    ("raw", "problem"),
    [("sprint", "Unknown topic 'sprint'"), ("sprint:x", "Unknown topic"), ("a:1;b:2", "Unknown")],
)
def test_bad_topics_are_refused_with_a_message_naming_them(raw, problem):
    with pytest.raises(ValueError, match=problem):
        live.parse_topics(raw)


def test_topics_are_read_from_a_comma_separated_list():
    assert live.parse_topics("sprint:12, pi:3,,") == {"sprint:12", "pi:3"}


# --- publishing after commit ----------------------------------------------------------------


@pytest.fixture
def published(monkeypatch):
    sent: list[live.Message] = []
    monkeypatch.setattr(live, "publish", sent.append)
    return sent


@pytest.mark.django_db(transaction=True)
def test_a_ticket_edit_is_published_to_its_sprints_after_commit_only(scenario, published):
    ticket = TicketFactory(team=scenario.lab, sprint=scenario.sprint)
    with transaction.atomic():
        ticket_update(
            ticket=ticket,
            actor=scenario.users["sm"],
            changes={"title": "Relabel the night images"},
            expected_version=ticket.version,
        )
        assert published == []  # nothing before the commit
    assert live.Message((f"sprint:{scenario.sprint.pk}",), "ticket") in published


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_ticket_edit_is_never_published(scenario, published):
    ticket = TicketFactory(team=scenario.lab, sprint=scenario.sprint)
    with pytest.raises(RuntimeError), transaction.atomic():
        ticket_update(
            ticket=ticket,
            actor=scenario.users["sm"],
            changes={"status": "in_progress"},
            expected_version=ticket.version,
        )
        raise RuntimeError("the request fails after the edit")
    assert published == []


@pytest.mark.django_db(transaction=True)
def test_a_ticket_moved_between_sprints_is_published_to_both(scenario, published):
    from ..factories import SprintFactory

    other = SprintFactory(name="Sprint 15")
    ticket = TicketFactory(team=scenario.lab, sprint=scenario.sprint)
    ticket_update(
        ticket=ticket,
        actor=scenario.users["sm"],
        changes={"sprint": other},
        expected_version=ticket.version,
    )
    topics = {topic for message in published for topic in message.topics}
    assert {f"sprint:{scenario.sprint.pk}", f"sprint:{other.pk}"} <= topics


def test_derived_changes_name_their_sprint_or_every_page(published):
    live.on_data_changed(source="sprint", ids=[4, 2])
    live.on_data_changed(source="insights", ids=None)
    live.on_data_changed(source="sprint", ids=None)
    assert [m.topics for m in published] == [("sprint:2", "sprint:4"), (live.ALL,), (live.ALL,)]


# --- the endpoint -----------------------------------------------------------------------------


def test_the_stream_refuses_a_visitor_who_is_not_signed_in(db):
    async def scenario():
        return await AsyncClient().get("/live/?topics=sprint:1")

    response = async_to_sync(scenario)()
    assert response.status_code == 403  # not a redirect to the login page: no page to show


def test_the_stream_refuses_bad_topics_with_a_message(scenario):
    async def ask():
        client = AsyncClient()
        await client.aforce_login(scenario.users["viewer"])
        return await client.get("/live/?topics=sprint")

    response = async_to_sync(ask)()
    assert response.status_code == 400
    assert "Unknown topic 'sprint'" in response.content.decode()


def test_under_a_wsgi_server_the_stream_answers_204_so_the_page_keeps_polling(client, scenario):
    client.force_login(scenario.users["viewer"])
    assert client.get("/live/?topics=sprint:1").status_code == 204


def test_an_idle_stream_makes_no_database_queries(scenario, settings, monkeypatch):
    """Connecting reads the session and the user; waiting and heartbeats read nothing."""
    settings.LIVE_HEARTBEAT_SECONDS = 0.02
    queries: list[str] = []
    execute = CursorWrapper._execute

    def counting(self, sql, *args):
        queries.append(sql)
        return execute(self, sql, *args)

    monkeypatch.setattr(CursorWrapper, "_execute", counting)

    async def scenario_():
        client = AsyncClient()
        await client.aforce_login(scenario.users["viewer"])
        queries.clear()
        response = await client.get(f"/live/?topics=sprint:{scenario.sprint.pk}")
        stream = aiter(response.streaming_content)
        first = await anext(stream)
        at_connect = len(queries)
        heartbeats = [await anext(stream) for _ in range(5)]
        idle = len(queries) - at_connect
        await stream.aclose()
        return response, first, heartbeats, at_connect, idle

    response, first, heartbeats, at_connect, idle = async_to_sync(scenario_)()
    assert response["Content-Type"] == "text/event-stream"
    assert b"event: ready" in first
    assert heartbeats == [b": keep-alive\n\n"] * 5
    assert at_connect > 0  # the counter sees this stream's queries (session, user)
    assert idle == 0
    assert live.hub.stream_count == 0  # closing the response unsubscribed it
