import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sprintplan.settings")

app = Celery("sprintplan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every worker writes a heartbeat row from its event loop, and queues the derived-data
# catch-up when it reconnects to its broker (sprintplan.heartbeat).
from .heartbeat import CatchUpAfterReconnect, WorkerHeartbeat  # noqa: E402

app.steps["consumer"].add(WorkerHeartbeat)
app.steps["consumer"].add(CatchUpAfterReconnect)
