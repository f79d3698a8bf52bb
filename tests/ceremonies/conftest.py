import pytest

import sprintplan.tasks  # noqa: F401 (registers the recompute task queued by name)


@pytest.fixture
def demo(transactional_db):
    """The whole demo, committed (so the derived data and events follow as in the app)."""
    from sprints.models import Sprint
    from web.demo import load_demo

    load_demo(password="pw-for-tests-1")
    return type(
        "Demo",
        (),
        {
            "sprint": Sprint.objects.get(name="Sprint 14 · Class X"),
            "previous": Sprint.objects.get(name="Sprint 13 · Baseline model"),
            "next": Sprint.objects.get(name="Sprint 15 · v1.2"),
        },
    )
