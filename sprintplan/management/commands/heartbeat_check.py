"""Exit 0 when a background process wrote its heartbeat recently; for healthchecks:

sprintplan heartbeat_check worker@$HOSTNAME
sprintplan heartbeat_check --role beat
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sprintplan.models import Heartbeat


class Command(BaseCommand):
    help = "Fail unless the named process (or some process of --role) beat recently."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="process name, e.g. worker@host")
        parser.add_argument("--role", help="worker, graph or beat: any process of it")
        parser.add_argument(
            "--max-age",
            type=float,
            default=settings.HEALTH_HEARTBEAT_MAX_AGE,
            help="seconds (default HEALTH_HEARTBEAT_MAX_AGE)",
        )

    def handle(self, *args, name=None, role=None, max_age, **options):
        if not name and not role:
            raise CommandError("Give a process name or --role.")
        rows = Heartbeat.objects.all()
        if name:
            rows = rows.filter(name=name)
        beats = [row.beat_at for row in rows if not role or role in row.roles.split()]
        if not beats:
            raise CommandError(f"No heartbeat from {name or role} yet.")
        age = (timezone.now() - max(beats)).total_seconds()
        if age > max_age:
            raise CommandError(f"Last heartbeat of {name or role} {age:.0f} s ago.")
        self.stdout.write(f"{name or role}: last heartbeat {age:.0f} s ago")
