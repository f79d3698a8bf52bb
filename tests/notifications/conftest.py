import pytest

import sprintplan.tasks  # noqa: F401 (registers the recompute task queued by name)
from tests.planning.conftest import bottleneck, pinned_today  # noqa: F401 (fixtures)

from .receiver import Receiver


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture(autouse=True)
def quick_retries(settings):
    settings.NOTIFY_RETRY_BASE_SECONDS = 0
    settings.NOTIFY_WEBHOOK_TIMEOUT = 2
    settings.SITE_URL = "http://127.0.0.1:8000"
    # The test receivers listen on loopback; tests/notifications/test_outbound.py checks
    # the refusal of private addresses with this switched off.
    settings.OUTBOUND_ALLOW_PRIVATE = True
