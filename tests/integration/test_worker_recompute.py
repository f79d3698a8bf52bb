"""End to end on PostgreSQL + Redis with a real worker process: the change goes through
the API, commits, is queued, and the worker's recompute becomes visible through the API."""

import itertools
import random
import re
import threading

import pytest
from django.db import connection
from kombu.exceptions import OperationalError

from dependencies import graph, selectors
from dependencies.models import RecomputeState
from dependencies.services import link_create
from sprintplan.models import DerivedChange
from sprintplan.tasks import recompute_derived

from ..factories import TicketFactory
from .conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_runs_on_postgresql_with_a_broker():
    assert connection.vendor == "postgresql"
    from django.conf import settings

    assert settings.CELERY_TASK_ALWAYS_EAGER is False


def _blocked(client, key: str):
    insight = client.get(f"/api/v1/tickets/{key}/").json()["insight"]
    return None if insight is None else insight["blocked"]


def test_api_change_reaches_the_downstream_blocked_flag_through_the_worker(scenario, api, worker):
    lab = TicketFactory(team=scenario.lab, size=1000, status="in_progress")
    train = TicketFactory(team=scenario.ml)
    validate = TicketFactory(team=scenario.qa)
    client = api("sm")
    for blocker, blocked in [(lab, train), (train, validate)]:
        response = client.post(
            "/api/v1/dependencies/", {"blocker": blocker.key, "blocked": blocked.key}, format="json"
        )
        assert response.status_code == 201
    wait_for(lambda: _blocked(client, validate.key) is True)

    response = api("lab_lead").patch(
        f"/api/v1/tickets/{lab.key}/", {"status": "done", "version": lab.version}, format="json"
    )
    assert response.status_code == 200
    took = wait_for(lambda: _blocked(client, train.key) is False)
    assert _blocked(client, validate.key) is True  # still waits for training
    assert took < 10


def test_with_the_broker_down_the_change_commits_and_the_catch_up_applies_it(
    scenario, api, worker, monkeypatch
):
    lab = TicketFactory(team=scenario.lab, size=10, status="in_progress")
    train = TicketFactory(team=scenario.ml)
    link_create(actor=scenario.users["sm"], blocker=lab, blocked=train)
    client = api("sm")
    wait_for(lambda: _blocked(client, train.key) is True)

    def broker_unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(recompute_derived, "apply_async", broker_unreachable)
    response = api("lab_lead").patch(
        f"/api/v1/tickets/{lab.key}/", {"status": "done", "version": lab.version}, format="json"
    )
    assert response.status_code == 200  # the user's change is not refused
    assert client.get(f"/api/v1/tickets/{lab.key}/").json()["status"] == "done"
    assert DerivedChange.objects.filter(kind="insights", object_id=lab.pk).exists()
    assert _blocked(client, train.key) is True  # not recomputed yet, and known to be pending

    monkeypatch.undo()
    recompute_derived.delay("insights")  # what the periodic catch-up (beat) sends
    wait_for(lambda: _blocked(client, train.key) is False)
    assert not DerivedChange.objects.filter(kind="insights").exists()


def test_a_burst_of_updates_coalesces_and_ends_equal_to_a_full_recompute(scenario, api, worker):
    rng = random.Random(7)
    tickets = [
        TicketFactory(team=rng.choice([scenario.lab, scenario.ml, scenario.qa])) for _ in range(30)
    ]
    for index, ticket in enumerate(tickets[1:], start=1):
        link_create(
            actor=scenario.users["sm"], blocker=tickets[rng.randrange(index)], blocked=ticket
        )
    wait_for(lambda: not DerivedChange.objects.filter(kind="insights").exists())
    runs_before = RecomputeState.objects.get().runs

    client = api("sm")
    versions = {t.key: t.version for t in tickets}
    updates = 60
    for _ in range(updates):
        ticket = rng.choice(tickets)
        status = rng.choice(["done", "in_progress"])
        response = client.patch(
            f"/api/v1/tickets/{ticket.key}/",
            # the Scrum master may close blocked tickets too, with a reason
            {"status": status, "version": versions[ticket.key], "override_reason": "burst"},
            format="json",
        )
        assert response.status_code == 200
        versions[ticket.key] = response.json()["version"]

    wait_for(lambda: not DerivedChange.objects.filter(kind="insights").exists(), timeout=20)
    runs = RecomputeState.objects.get().runs - runs_before
    assert 1 <= runs < updates / 2, f"{runs} recomputes for {updates} updates"
    expected = graph.compute_insights(selectors.graph_nodes(), selectors.graph_links())
    assert selectors.stored_insights() == expected


RECOMPUTE_PATH = re.compile(r"insight recompute: .* \(([a-z ]+)\)")


def _mirror_built(worker) -> int:
    """A full run, from which the worker's mirror is built; the worker log's size then."""
    wait_for(lambda: not DerivedChange.objects.filter(kind="insights").exists(), timeout=20)
    runs = RecomputeState.objects.get().runs
    recompute_derived.delay("insights", full=True)
    wait_for(lambda: RecomputeState.objects.get().runs > runs, timeout=20)
    return worker.log_path.stat().st_size


def _patch_statuses_concurrently(api, tickets, rng, *, clients: int = 6, steps: int = 15):
    """`clients` threads, each PATCHing the status of its own share of `tickets` in turn."""
    failures = []

    def client(own):
        session = api("sm")
        versions = {t.key: t.version for t in own}
        for step in range(steps):
            ticket = own[step % len(own)]
            response = session.patch(
                f"/api/v1/tickets/{ticket.key}/",
                {
                    "status": rng.choice(["done", "in_progress", "todo"]),
                    "version": versions[ticket.key],
                    "override_reason": "burst",
                },
                format="json",
            )
            if response.status_code != 200:
                failures.append(response.status_code)
                return
            versions[ticket.key] = response.json()["version"]
        connection.close()

    threads = [
        threading.Thread(target=client, args=(tickets[n::clients],)) for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


def _recompute_lines_since(worker, log_at: int) -> list[str]:
    wait_for(lambda: not DerivedChange.objects.filter(kind="insights").exists(), timeout=30)
    with open(worker.log_path) as log:
        log.seek(log_at)
        return [line for line in log.read().splitlines() if "insight recompute:" in line]


def test_concurrent_updates_are_folded_into_the_next_runs_on_the_fast_path(scenario, api, worker):
    """Many tickets changing at once (six clients in threads): what changes while a run
    computes is the next run's, on the worker's mirror; no run falls back to recounting the
    region or reading the whole graph, and the end equals a recompute from scratch."""
    rng = random.Random(11)
    tickets = [TicketFactory(team=rng.choice([scenario.lab, scenario.ml])) for _ in range(120)]
    # Twenty small epics: what lies below any few changed tickets stays well under the share
    # of the graph past which the database path reads the whole graph.
    for start in range(0, len(tickets), 6):
        epic = tickets[start : start + 6]
        for index, ticket in enumerate(epic[1:], start=1):
            link_create(
                actor=scenario.users["sm"], blocker=epic[rng.randrange(index)], blocked=ticket
            )
    log_at = _mirror_built(worker)
    _patch_statuses_concurrently(api, tickets, rng)
    paths = RECOMPUTE_PATH.findall("\n".join(_recompute_lines_since(worker, log_at)))
    assert paths and set(paths) == {"mirror"}, paths
    expected = graph.compute_insights(selectors.graph_nodes(), selectors.graph_links())
    assert selectors.stored_insights() == expected


def test_concurrent_updates_high_in_a_long_chain_stay_on_the_mirror(scenario, api, worker):
    """Changes whose cone is most of the graph (the top of one long chain): the database
    path would read the whole graph for each run; the worker computes them all from its
    mirror, and its log gives no reason for leaving it."""
    rng = random.Random(12)
    chain = [TicketFactory(team=rng.choice([scenario.lab, scenario.ml])) for _ in range(60)]
    for blocker, blocked in itertools.pairwise(chain):
        link_create(actor=scenario.users["sm"], blocker=blocker, blocked=blocked)
    log_at = _mirror_built(worker)
    _patch_statuses_concurrently(api, chain[:20], rng, steps=10)  # each cone: over 2/3
    lines = _recompute_lines_since(worker, log_at)
    paths = RECOMPUTE_PATH.findall("\n".join(lines))
    assert paths and set(paths) == {"mirror"}, lines
    assert not [line for line in lines if " reason: " in line], lines
    expected = graph.compute_insights(selectors.graph_nodes(), selectors.graph_links())
    assert selectors.stored_insights() == expected


def test_a_team_rate_change_through_the_api_reaches_the_forecast_through_the_worker(
    scenario, api, worker
):
    """Teams cannot name planning: they say "team changed" and the worker re-forecasts."""
    from django.db import transaction

    from planning.models import ForecastRun
    from sprintplan import derived

    TicketFactory(team=scenario.ml, sprint=scenario.sprint, size=8)  # a factory: no service
    with transaction.atomic():  # so say it, as the planning services would
        derived.changed("sprint", [scenario.sprint.pk])
    wait_for(lambda: ForecastRun.objects.filter(sprint=scenario.sprint).exists(), timeout=30)
    wait_for(lambda: not DerivedChange.objects.exists(), timeout=30)
    before = ForecastRun.objects.filter(sprint=scenario.sprint).latest("id")
    response = api("sm").patch(
        f"/api/v1/teams/{scenario.ml.pk}/",
        {"default_rate": str(scenario.ml.default_rate * 4)},
        format="json",
    )
    assert response.status_code == 200, response.content
    wait_for(
        lambda: ForecastRun.objects.filter(sprint=scenario.sprint).latest("id").pk != before.pk,
        timeout=30,
    )
    after = ForecastRun.objects.filter(sprint=scenario.sprint).latest("id")
    assert after.inputs_version != before.inputs_version
