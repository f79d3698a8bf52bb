"""The fault suite of bench/bench_faults.py, short: one of each fault on a small backlog,
against a private redis-server, the production set of processes and the test database."""

import argparse
import shutil
import socket
import sys
import uuid

import pytest

from .conftest import ROOT, _test_database_url

sys.path.insert(0, str(ROOT / "bench"))

pytestmark = [
    pytest.mark.faults,
    pytest.mark.services,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
    # Declares the database: pytest-django creates (and migrates) the test database only for
    # the aliases its collected tests declare, so without it a session of these tests alone
    # ran against the database DATABASE_URL names. Transactional: the stack's processes
    # write and this test reads what they committed; the data is flushed after each test.
    pytest.mark.django_db(transaction=True),
]

FAULTS = ["kill-worker", "redis-stop", "redis-freeze", "pg-terminate"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    import bench_faults

    stack = bench_faults.Stack(
        database_url=_test_database_url(),
        redis_port=free_port(),
        port=free_port(),
        queue=f"faults-{uuid.uuid4().hex[:8]}",
        workdir=tmp_path_factory.mktemp("faults"),
        web="gunicorn",  # as deploy/ serves the API: sync workers, a kept connection each
    )
    # Quick heartbeats, so a killed worker shows in /health/ within seconds.
    stack.env.update(HEARTBEAT_SECONDS="1", HEALTH_HEARTBEAT_MAX_AGE="5")
    with django_db_blocker.unblock():
        stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def token(stack):
    """The small backlog, seeded again for each test (the previous one's was flushed), and
    the clients' API token."""
    import bench_faults
    from bench_recompute import seed

    seed(300)
    yield bench_faults.make_token()
    # pytest-django flushes the tables next (TRUNCATE): let the stack's background work end
    # first, or a recompute holding one table while waiting for another deadlocks with it.
    bench_faults.settle(stack)


@pytest.mark.parametrize("fault", FAULTS)
def test_under_a_fault_no_request_fails_no_write_is_lost_and_insights_heal(stack, token, fault):
    import bench_faults
    from django.db import connection

    args = argparse.Namespace(clients=4, duration=8, fault_at=2, fault_seconds=5, after=4)
    bench_faults.settle(stack)
    result = bench_faults.run_scenario(stack, fault, args, token, connection.settings_dict["NAME"])
    print(result)  # shown when the test fails
    if result["server_errors"]:
        print(stack.tail(stack.services["web"], 6000))
    assert result["server_errors"] == 0, result
    assert result["lost_writes"] == 0, result
    assert result["died"] == {}, result
    assert result["statuses"].get(200, 0) > 0, result
    if not (result["insights_correct_s"] is not None and result["insights_correct_s"] <= 10):
        for name in ("graph-worker", "worker", "beat"):
            print(f"--- {name}\n{stack.tail(stack.services[name], 4000)}")
    assert result["insights_correct_s"] is not None and result["insights_correct_s"] <= 10, result
    if fault.startswith("kill-"):
        assert result["health_503_after_s"] is not None, result
        assert result["health_200_again_after_s"] is not None, result
