from django.core.management.base import BaseCommand

from dependencies.services import insights_recompute


class Command(BaseCommand):
    help = (
        "Bring dependency insights up to date. By default consumes pending changes "
        "(incremental); --full recomputes every ticket from scratch and repairs any drift."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="recompute every ticket")

    def handle(self, *args, full: bool, **options):
        report = insights_recompute(full=full)
        self.stdout.write(
            f"{'full' if full else 'incremental'} recompute: {report.changes_consumed} pending "
            f"changes consumed, {report.rows_written} insights written, graph version "
            f"{report.graph_version}, {report.duration_ms:.1f} ms"
        )
