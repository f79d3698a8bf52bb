from django.core.management.base import BaseCommand

from web.demo import load_demo


class Command(BaseCommand):
    help = "Load seed scenarios 1-2 (a sprint) and 3 (a program) with demo logins. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default="sprintplan-demo",
            help="Password given to demo users created by this run.",
        )

    def handle(self, *args, password: str, **options):
        users = load_demo(password=password)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password: {password}):"))
        for spec in users:
            team = f", {spec.team_role} of {spec.team}" if spec.team else ""
            self.stdout.write(f"  {spec.username:<6} {spec.name:<14} {spec.role}{team}")
