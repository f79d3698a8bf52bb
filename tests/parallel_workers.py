"""Parallel test workers (pytest-xdist, `-n`) on one PostgreSQL and one Redis.

pytest-django already gives each worker a test database of its own (`test_sprintplan_gw0`,
...). Redis it does not know about: two workers would share the cache, the live channel and
the Celery queues, and a test that clears the cache (`FLUSHDB`) would wipe the other
worker's throttle counts and flags halfway through its test. Here each worker gets its own
Redis database number (counting down from the one REDIS_URL names, so db 15 gives 15, 14,
...), key prefix and queue names; the Celery worker a service test starts inherits them.

scripts/test.sh loads it with `-p tests.parallel_workers` (from the checkout's root, with
`python -m pytest`), so it runs before pytest-django imports the settings; a conftest would
be too late. Outside xdist it changes nothing."""

import os
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # Redis's default `databases`


def _own_redis_database(url: str, index: int) -> str:
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    database = base - index if base >= index else base + index
    if not 0 <= database < REDIS_DATABASES:
        raise RuntimeError(
            f"test worker {index} has no Redis database of its own next to {url}: "
            "run fewer workers (-n) or name a database nearer 15"
        )
    return urlunsplit(parts._replace(path=f"/{database}"))


def _isolate(worker: str) -> None:
    index = int(worker.removeprefix("gw"))
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = _own_redis_database(os.environ["REDIS_URL"], index)
    for name in ("CELERY_QUEUE", "CACHE_PREFIX"):
        os.environ[name] = f"{os.environ.get(name, 'sprintplan-test')}-{worker}"


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw"):
    _isolate(_worker)
