"""Ten people editing at once through the running server (threads, real HTTP): nobody gets
a server error, and no update is lost. Runs on SQLite in pass 1 and on PostgreSQL in pass 2."""

import threading
from concurrent.futures import ThreadPoolExecutor

WRITERS = 10
ROUNDS = 4
EDITS_EACH = 4


def _tickets(live_app, token, count: int) -> list[dict]:
    status, body = live_app.request("GET", f"/api/v1/tickets/?page_size={count}", token=token)
    assert status == 200, body
    assert len(body["results"]) == count
    return body["results"]


def _run_together(work, count: int) -> list:
    """Start `count` calls of work(i) at the same moment (a barrier), return their results."""
    barrier = threading.Barrier(count)

    def started(i):
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(started, range(count)))


def test_ten_writers_on_one_ticket_exactly_one_wins_each_round_and_none_fails(live_app):
    tokens = [live_app.token() for _ in range(WRITERS)]
    key = _tickets(live_app, tokens[0], 1)[0]["key"]
    path = f"/api/v1/tickets/{key}/"
    for round_number in range(ROUNDS):
        _, before = live_app.request("GET", path, token=tokens[0])

        def write(i, version=before["version"], n=round_number):
            body = {"title": f"Round {n}, writer {i}", "version": version}
            return live_app.request("PATCH", path, body, token=tokens[i])

        answers = _run_together(write, WRITERS)
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200] + [409] * (WRITERS - 1), answers
        winner = next(body for status, body in answers if status == 200)
        losers = [body for status, body in answers if status == 409]
        assert all(body["code"] == "stale_version" for body in losers)
        assert all(body["current"]["version"] == before["version"] + 1 for body in losers)
        _, after = live_app.request("GET", path, token=tokens[0])
        assert after["version"] == before["version"] + 1
        assert after["title"] == winner["title"]


def test_ten_writers_on_ten_tickets_all_succeed_and_every_edit_is_kept(live_app):
    tokens = [live_app.token() for _ in range(WRITERS)]
    tickets = _tickets(live_app, tokens[0], WRITERS)

    def edit_own_ticket(i):
        path = f"/api/v1/tickets/{tickets[i]['key']}/"
        version, statuses = tickets[i]["version"], []
        for n in range(EDITS_EACH):
            status, body = live_app.request(
                "PATCH", path, {"title": f"Writer {i}, edit {n}", "version": version}, tokens[i]
            )
            statuses.append(status)
            if status == 200:
                version = body["version"]
        return statuses

    results = _run_together(edit_own_ticket, WRITERS)
    assert all(status == 200 for statuses in results for status in statuses), results
    for i, ticket in enumerate(tickets):
        _, now = live_app.request("GET", f"/api/v1/tickets/{ticket['key']}/", token=tokens[0])
        assert now["version"] == ticket["version"] + EDITS_EACH
        assert now["title"] == f"Writer {i}, edit {EDITS_EACH - 1}"
