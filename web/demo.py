"""The whole demo: seed scenarios 1 and 2 (planning), then scenario 3 (programs), which
builds on the same teams and users. Idempotent."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from planning.demo import DemoUser, load_sprint_demo
from programs.demo import load_program_demo


@transaction.atomic
def load_demo(*, password: str, today: date | None = None) -> list[DemoUser]:
    today = today or timezone.localdate()
    users = load_sprint_demo(password=password, today=today)
    return users + load_program_demo(password=password, today=today)
