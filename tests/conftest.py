import os
from pathlib import Path

import pytest

import sprintplan.tasks  # noqa: F401 (registers the derived-data task however few tests run)
from accounts.models import User
from teams.models import Membership

from .factories import MembershipFactory, SprintFactory, TeamFactory, UserFactory

SERVICE_PASS = bool(os.environ.get("REDIS_URL")) and bool(os.environ.get("DATABASE_URL"))


def pytest_configure(config):
    from django.conf import settings

    # Real hashing costs ~0.3 s per user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The PostgreSQL pass looks like production (a database URL, no DEBUG), which turns on
    # the HTTPS redirect; the test client speaks plain HTTP.
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, the test database is a file (on tmpfs when there is one), not Django's
    shared in-memory database. With the in-memory one, the live server hands every request
    thread the test's own connection: the browser's concurrent requests (the live stream, lazy
    fragments, a form post) then ran their transactions interleaved on that one connection,
    and other threads met "database table is locked" — failures that came and went. A file
    gives each thread its own connection with WAL and the busy timeout, as `make run` has."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        yield
        return
    shm = Path("/dev/shm")
    folder = shm if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path_factory.mktemp("db")
    path = folder / f"sprintplan-test-{os.getpid()}.sqlite3"
    database.setdefault("TEST", {})["NAME"] = str(path)
    yield
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    """`services` tests need PostgreSQL + Redis + a worker. Outside that pass they are
    skipped — except in CI (CI=true), where a missing service must fail the run."""
    if SERVICE_PASS:
        return
    in_ci = os.environ.get("CI", "").lower() == "true"
    for item in items:
        if "services" in item.keywords and not in_ci:
            item.add_marker(
                pytest.mark.skip(reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL")
            )


@pytest.fixture(autouse=True)
def no_delivery_thread_left_behind():
    """A test that opened the integrations page or sent a webhook on the embedded default
    started the delivery thread: end it, so it never touches the next test's database."""
    yield
    from integrations import background

    background.stop(timeout=10)


@pytest.fixture(autouse=True)
def redis_not_resting():
    """Each test starts with the Redis back-off closed (sprintplan.redis_guard): a test that
    breaks the broker on purpose must not make the next one skip its kicks."""
    from sprintplan import derived, redis_guard

    redis_guard.reset()
    derived._doubtful_flags.clear()


@pytest.fixture(autouse=True)
def recompute_in_process(request, settings):
    """Outside the service tests, the recompute runs in-process on commit (the embedded
    default), whatever the environment says."""
    if "services" not in request.keywords:
        settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def scenario(db):
    """Three teams of seed scenario 1 and one user per role."""
    lab = TeamFactory(
        name="Data Labeling",
        key_prefix="LAB",
        kind="labeling",
        unit="items",
        unit_label="images",
        default_rate=60,
    )
    ml = TeamFactory(name="ML Engineering", key_prefix="ML", kind="ml")
    qa = TeamFactory(name="QA", key_prefix="QA", kind="qa")
    users = {
        "sm": UserFactory(username="sm", product_role=User.ProductRole.SCRUM_MASTER),
        "po": UserFactory(username="po", product_role=User.ProductRole.PRODUCT_OWNER),
        "viewer": UserFactory(username="viewer", product_role=User.ProductRole.VIEWER),
        "lab_lead": UserFactory(username="lab_lead"),
        "lab_member": UserFactory(username="lab_member"),
        "ml_lead": UserFactory(username="ml_lead"),
        "ml_member": UserFactory(username="ml_member"),
        "qa_lead": UserFactory(username="qa_lead"),
    }
    for name, team, role in [
        ("lab_lead", lab, Membership.Role.LEAD),
        ("lab_member", lab, Membership.Role.MEMBER),
        ("ml_lead", ml, Membership.Role.LEAD),
        ("ml_member", ml, Membership.Role.MEMBER),
        ("qa_lead", qa, Membership.Role.LEAD),
    ]:
        MembershipFactory(user=users[name], team=team, role=role)
    sprint = SprintFactory(name="Sprint 14")
    return type("Scenario", (), {"lab": lab, "ml": ml, "qa": qa, "users": users, "sprint": sprint})


@pytest.fixture
def api(scenario):
    """An API client logged in as a given role: api("sm")."""
    from rest_framework.test import APIClient

    def client_for(role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(scenario.users[role])
        return client

    return client_for
