"""Re-render only what changed: a pull, take-out or rank in the planning room answers with
the moved row placed by rank and out-of-band swaps of what depends on it (capacity bars,
forecast line, backlog count, linked rows' warnings), never the whole room, in a number of
queries that does not grow with backlog or sprint. The sprint page is light first: its
first rows at once, the rest in server-side slices (with search), the burn-up charts lazily
from a cache kept per data version."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies.services import link_create
from sprints.models import Sprint
from tickets.models import Ticket

from ..factories import SprintFactory, TicketFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def planned(scenario):
    """A sprint in planning with one ML ticket in it, and a ranked backlog of five."""
    sprint = SprintFactory(name="Sprint 15", state=Sprint.State.PLANNING)
    TicketFactory(team=scenario.ml, sprint=sprint, size=2, title="Already in", rank=10)
    backlog = [
        TicketFactory(team=scenario.ml, sprint=None, status="backlog", size=3, rank=100 * n)
        for n in range(1, 6)
    ]
    return sprint, backlog


def post(client, action: str, data: dict):
    return client.post(f"/planning/{action}/", data, **HTMX)


def keys_in_backlog(html: str) -> list[str]:
    return re.findall(r'<li class="backlog-item" id="backlog-([^"]+)"', html)


def room_order(client, sprint) -> list[str]:
    return keys_in_backlog(client.get(f"/planning/?sprint={sprint.pk}").content.decode())


class TestPlanningRoomAnswersWithTheChangedParts:
    def test_a_pull_answers_with_the_row_placed_in_its_lane_and_capacity_out_of_band(
        self, scenario, planned, client
    ):
        sprint, backlog = planned
        client.force_login(scenario.users["sm"])
        key = backlog[1].key
        response = post(client, "pull", {"ticket": key, "version": 1, "sprint": sprint.pk})
        html = response.content.decode()
        assert response.status_code == 200
        assert 'id="planning-room"' not in html and 'id="scope-card"' not in html
        assert f'<div id="backlog-{key}" hx-swap-oob="delete"></div>' in html
        # ranked after the ticket already in the lane: appended to the ML lane
        assert f'hx-swap-oob="beforeend:#scope-lane-{scenario.ml.pk}"' in html
        assert f'<li id="scope-{key}">' in html
        capacity = html.split('id="planning-capacity" hx-swap-oob="true"', 1)[1]
        assert 'ML Engineering</strong> <span class="muted">5 / ' in capacity  # 2 + 3
        assert 'id="planning-forecast" hx-swap-oob="true"' in html
        assert "· 4 tickets" in html.split('id="backlog-count"', 1)[1]
        assert Ticket.objects.get(key=key).sprint_id == sprint.pk

    def test_a_take_out_puts_the_row_back_above_the_next_ranked_backlog_ticket(
        self, scenario, planned, client
    ):
        sprint, backlog = planned
        client.force_login(scenario.users["sm"])
        key = backlog[2].key
        post(client, "pull", {"ticket": key, "version": 1, "sprint": sprint.pk})
        response = post(client, "remove", {"ticket": key, "version": 2, "sprint": sprint.pk})
        html = response.content.decode()
        assert f'<div id="scope-{key}" hx-swap-oob="delete"></div>' in html
        assert f'hx-swap-oob="beforebegin:#backlog-{backlog[3].key}"' in html
        assert f'id="backlog-{key}"' in html.split("beforebegin:", 1)[1]
        assert room_order(client, sprint) == [t.key for t in backlog]

    def test_the_last_ticket_of_a_lane_taken_out_redraws_the_sprint_side(
        self, scenario, planned, client
    ):
        sprint, _ = planned
        client.force_login(scenario.users["sm"])
        lab = TicketFactory(team=scenario.lab, sprint=None, status="backlog", rank=50)
        post(client, "pull", {"ticket": lab.key, "version": 1, "sprint": sprint.pk})
        html = post(
            client, "remove", {"ticket": lab.key, "version": 2, "sprint": sprint.pk}
        ).content.decode()
        assert 'id="scope-card" aria-labelledby="scope-title" hx-swap-oob="true"' in html
        assert f'id="scope-lane-{scenario.lab.pk}"' not in html  # the lane is gone

    def test_keyboard_up_and_down_move_one_place_among_the_filtered_backlog(
        self, scenario, planned, client
    ):
        sprint, backlog = planned
        keys = [t.key for t in backlog]
        client.force_login(scenario.users["po"])
        up = post(client, "rank", {"ticket": keys[2], "version": 1, "direction": "up"})
        assert f'hx-swap-oob="beforebegin:#backlog-{keys[1]}"' in up.content.decode()
        assert room_order(client, sprint) == [keys[0], keys[2], keys[1], keys[3], keys[4]]
        post(client, "rank", {"ticket": keys[3], "version": 1, "direction": "down"})
        down = post(client, "rank", {"ticket": keys[3], "version": 2, "direction": "down"})
        assert 'hx-swap-oob="beforebegin:#backlog-end"' in down.content.decode()  # the bottom
        assert room_order(client, sprint) == [keys[0], keys[2], keys[1], keys[4], keys[3]]

    def test_up_on_the_first_ticket_changes_nothing(self, scenario, planned, client):
        sprint, backlog = planned
        client.force_login(scenario.users["po"])
        response = post(client, "rank", {"ticket": backlog[0].key, "version": 1, "direction": "up"})
        assert response.status_code == 200
        assert Ticket.objects.get(pk=backlog[0].pk).version == 1
        assert room_order(client, sprint) == [t.key for t in backlog]

    def test_a_pull_redraws_the_warning_of_the_backlog_ticket_waiting_on_it(
        self, scenario, planned, client
    ):
        sprint, backlog = planned
        link_create(actor=scenario.users["sm"], blocker=backlog[0], blocked=backlog[1])
        client.force_login(scenario.users["sm"])
        room = client.get(f"/planning/?sprint={sprint.pk}").content.decode()
        assert f"needs {backlog[0].key} first, which is not planned" in room
        html = post(
            client, "pull", {"ticket": backlog[0].key, "version": 1, "sprint": sprint.pk}
        ).content.decode()
        waiting = html.split(f'id="backlog-{backlog[1].key}" hx-swap-oob="true"', 1)[1]
        waiting = waiting.split("</li>", 1)[0]
        assert "which is not planned" not in waiting

    def test_a_refused_pull_names_the_reason_and_redraws_the_row_at_its_version(
        self, scenario, planned, client
    ):
        sprint, backlog = planned
        client.force_login(scenario.users["sm"])
        key = backlog[0].key
        response = post(client, "pull", {"ticket": key, "version": 7, "sprint": sprint.pk})
        html = response.content.decode()
        assert response.status_code == 409
        assert "changed by someone else" in html.split('id="planning-notice"', 1)[1]
        assert f'data-key="{key}" data-version="1"' in html
        assert Ticket.objects.get(key=key).sprint_id is None

    def test_the_backlog_loads_in_slices_after_the_last_row_shown(
        self, scenario, planned, client, monkeypatch
    ):
        from planning import selectors

        monkeypatch.setattr(selectors, "BACKLOG_SHOWN", 2)
        sprint, backlog = planned
        client.force_login(scenario.users["po"])
        room = client.get(f"/planning/?sprint={sprint.pk}").content.decode()
        assert keys_in_backlog(room) == [backlog[0].key, backlog[1].key]
        assert 'id="backlog-more"' in room
        slice_ = client.get(
            f"/planning/?sprint={sprint.pk}&after={backlog[1].key}", **HTMX
        ).content.decode()
        assert keys_in_backlog(slice_) == [backlog[2].key, backlog[3].key]
        last = client.get(
            f"/planning/?sprint={sprint.pk}&after={backlog[3].key}", **HTMX
        ).content.decode()
        assert keys_in_backlog(last) == [backlog[4].key]
        assert 'id="backlog-end"' in last and 'id="backlog-more"' not in last


def _grow(scenario, sprint, count: int) -> None:
    """`count` more tickets per team in the sprint and in the backlog, linked in pairs."""
    for team in (scenario.lab, scenario.ml, scenario.qa):
        for _ in range(count):
            blocker = TicketFactory(team=team, sprint=None, status="backlog")
            blocked = TicketFactory(team=team, sprint=sprint)
            link_create(actor=scenario.users["sm"], blocker=blocker, blocked=blocked)


def _queries(call) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content[:300]
    return len(captured.captured_queries), response.content


class TestQueryCountsStayConstant:
    """The partial answers read a fixed set of rows, whatever the sizes."""

    def _moves(self, client, sprint, key: str) -> dict[str, int]:
        version = Ticket.objects.get(key=key).version
        counts = {}
        counts["pull"], _ = _queries(
            lambda: post(client, "pull", {"ticket": key, "version": version, "sprint": sprint.pk})
        )
        counts["remove"], _ = _queries(
            lambda: post(
                client, "remove", {"ticket": key, "version": version + 1, "sprint": sprint.pk}
            )
        )
        counts["rank"], _ = _queries(
            lambda: post(
                client,
                "rank",
                {"ticket": key, "version": version + 2, "direction": "down", "sprint": sprint.pk},
            )
        )
        return counts

    def test_pull_take_out_and_rank_at_two_sizes(self, scenario, planned, client):
        sprint, backlog = planned
        client.force_login(scenario.users["sm"])
        _grow(scenario, sprint, 1)
        few = self._moves(client, sprint, backlog[1].key)
        _grow(scenario, sprint, 12)
        many = self._moves(client, sprint, backlog[2].key)
        assert few == many
        # the write (lock, update, history, derived markers) and the answer's fixed reads:
        # the moved and linked rows, count, placement, capacity calendars (read once for both
        # the bars and the over-allocation check), the scope and lane sizes together; the
        # stored forecast is not read while the move's change waits for it ("updating"); a
        # move between sprints marks the forecasts of both sprints (two marker queries more
        # than a rank)
        assert many == {"pull": 29, "remove": 31, "rank": 21}  # the written ticket is not re-read

    def test_sprint_page_slices_and_charts_at_two_sizes(self, scenario, client):
        client.force_login(scenario.users["lab_lead"])
        sprint = scenario.sprint
        _grow(scenario, sprint, 20)

        def lazy_parts() -> tuple[int, int, int]:
            cache.clear()
            first = Ticket.objects.filter(sprint=sprint, team=scenario.lab).order_by("rank", "id")
            after = first[11].key
            rows, _ = _queries(
                lambda: client.get(
                    f"/sprints/{sprint.pk}/rows/?team={scenario.lab.pk}&after={after}", **HTMX
                )
            )
            search, _ = _queries(lambda: client.get(f"/sprints/{sprint.pk}/rows/?q=LAB", **HTMX))
            burn, _ = _queries(lambda: client.get(f"/sprints/{sprint.pk}/burn/", **HTMX))
            return rows, search, burn

        few = lazy_parts()
        _grow(scenario, sprint, 30)
        assert lazy_parts() == few
        assert few == (10, 9, 8)  # rows slice, search, charts (cache cold)


class TestSprintPageIsLightFirst:
    def test_first_rows_at_once_the_rest_in_slices(
        self, scenario, client, django_capture_on_commit_callbacks
    ):
        from web.views.sprints import FIRST_ROWS

        sprint = scenario.sprint
        rows = [TicketFactory(team=scenario.lab, sprint=sprint) for _ in range(FIRST_ROWS + 3)]
        client.force_login(scenario.users["lab_lead"])
        html = client.get(f"/sprints/{sprint.pk}/").content.decode()
        shown = re.findall(r'<tbody class="ticket[^"]*" id="ticket-([^"]+)"', html)
        assert shown == [t.key for t in rows[:FIRST_ROWS]]
        assert f"after={rows[FIRST_ROWS - 1].key}" in html  # where the next slice starts
        assert f'hx-get="/sprints/{sprint.pk}/burn/"' in html and "burn-svg" not in html
        rest = client.get(
            f"/sprints/{sprint.pk}/rows/?team={scenario.lab.pk}&after={rows[FIRST_ROWS - 1].key}",
            **HTMX,
        ).content.decode()
        assert re.findall(r'id="ticket-([^"]+)"', rest) == [t.key for t in rows[FIRST_ROWS:]]
        assert "lazy-rows" not in rest  # the last slice

    def test_search_narrows_the_team_tables_on_the_server(self, scenario, client):
        sprint = scenario.sprint
        TicketFactory(team=scenario.lab, sprint=sprint, title="Label night images")
        TicketFactory(team=scenario.ml, sprint=sprint, title="Train the night model")
        TicketFactory(team=scenario.ml, sprint=sprint, title="Evaluate")
        client.force_login(scenario.users["viewer"])
        html = client.get(f"/sprints/{sprint.pk}/rows/?q=night", **HTMX).content.decode()
        assert html.strip().startswith('<div id="sprint-lanes">')
        assert re.findall(r'<h2 id="lane-\d+">([^<]+?) <span', html) == [
            "Data Labeling",
            "ML Engineering",
        ]
        assert "Evaluate" not in html and "1 matching “night”" in html
        none = client.get(f"/sprints/{sprint.pk}/rows/?q=zebra", **HTMX).content.decode()
        assert "No ticket of this sprint matches “zebra”" in none

    def test_burn_charts_are_cached_until_the_data_version_moves(self, scenario, client):
        sprint = scenario.sprint
        ticket = TicketFactory(team=scenario.lab, sprint=sprint, size=10)
        client.force_login(scenario.users["viewer"])
        cache.clear()
        first, html = _queries(lambda: client.get(f"/sprints/{sprint.pk}/burn/", **HTMX))
        again, cached = _queries(lambda: client.get(f"/sprints/{sprint.pk}/burn/", **HTMX))
        assert cached == html and "Burnup and forecast" in html.decode()
        assert again < first  # the charts were not computed again
        from tickets.services import ticket_update

        ticket_update(  # a new data version
            ticket=Ticket.objects.get(pk=ticket.pk),
            actor=scenario.users["sm"],
            changes={"progress": 5},
            expected_version=ticket.version,
        )
        fresh, _ = _queries(lambda: client.get(f"/sprints/{sprint.pk}/burn/", **HTMX))
        assert fresh == first

    def test_an_inline_edit_answers_with_the_row_and_its_lanes_done_figure(self, scenario, client):
        ticket = TicketFactory(team=scenario.lab, sprint=scenario.sprint, size=100, progress=10)
        TicketFactory(team=scenario.lab, sprint=scenario.sprint, size=50, progress=5)
        client.force_login(scenario.users["lab_lead"])
        response = client.post(
            f"/tickets/{ticket.key}/inline/", {"progress": "40", "version": ticket.version}, **HTMX
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert html.strip().startswith(f'<tbody class="ticket" id="ticket-{ticket.key}">')
        lane = html.split(f'id="lane-done-{scenario.lab.pk}" hx-swap-oob="true">', 1)[1]
        assert lane.startswith("· 45 / 150 images done")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plans do not need stats")
def test_the_backlog_is_read_in_rank_order_from_an_index_not_sorted(planned):
    """The row below a moved ticket and the next backlog slice read the ranked backlog from
    its index, stopping at the rows they need: sorting every backlog ticket per move grew with
    the backlog (2 ms at 10,000). SQLite chooses its plan without table statistics here, as a
    fresh embedded install does."""
    from django.http import QueryDict

    from planning import selectors

    _, backlog = planned
    ranked = selectors.filtered_backlog(QueryDict())
    below = ranked.filter(selectors._after(backlog[1].rank, backlog[1].id))
    above = ranked.filter(selectors._before(backlog[1].rank, backlog[1].id)).reverse()
    for query in (ranked, below, above):
        sql, params = query.values_list("key", flat=True)[:2].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " / ".join(row[3] for row in cursor.fetchall())
        assert "ticket_backlog_rank" in plan and "TEMP B-TREE" not in plan, plan
    assert [t.key for t in below[:2]] == [backlog[2].key, backlog[3].key]
    assert [t.key for t in above[:2]] == [backlog[0].key]
