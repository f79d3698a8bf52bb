"""The whole demo: seed scenarios 1 and 2 (planning), then scenario 3 (programs), which
builds on the same teams and users. Idempotent."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from ceremonies.demo import load_ceremonies_demo
from planning.demo import PREVIOUS_SPRINT, DemoUser, load_sprint_demo
from programs.demo import load_program_demo
from sprints.models import Sprint

DEMO_SPRINT = "Sprint 14 · Class X"


@transaction.atomic
def load_demo(*, password: str, today: date | None = None) -> list[DemoUser]:
    today = today or timezone.localdate()
    users = load_sprint_demo(password=password, today=today)
    users = users + load_program_demo(password=password, today=today)
    load_ceremonies_demo(
        sprint=Sprint.objects.get(name=DEMO_SPRINT),
        previous=Sprint.objects.filter(name=PREVIOUS_SPRINT).first(),
    )
    return users
