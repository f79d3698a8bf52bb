from django.core.management.base import BaseCommand
from django.utils import timezone

from planning import calibration, forecast_engine
from planning.forecast_adapter import throughput_histories
from teams.models import Team

DEMO_TEAM = "LAB"


class Command(BaseCommand):
    help = (
        "Calibration backtest of the Monte Carlo forecast: replay synthetic histories from known "
        "throughput distributions and report how often the P50 and P85 days were met."
    )

    def add_arguments(self, parser):
        parser.add_argument("--replays", type=int, default=calibration.DEFAULT_REPLAYS)
        parser.add_argument("--trials", type=int, default=calibration.DEFAULT_TRIALS)
        parser.add_argument("--seed", type=int, default=calibration.DEFAULT_SEED)

    def handle(self, *args, replays: int, trials: int, seed: int, **options):
        cases = calibration.default_cases()
        demo_case = self._demo_case()
        if demo_case is not None:
            cases.append(demo_case)
        results = calibration.run_backtest(cases, replays=replays, trials=trials, seed=seed)
        self.stdout.write(calibration.format_table(results))

    def _demo_case(self) -> calibration.Case | None:
        """The demo labeling team's recorded daily history, resampled as if it were the truth."""
        team = Team.objects.filter(key_prefix=DEMO_TEAM).first()
        if team is None:
            self.stdout.write(f"No {DEMO_TEAM} team in the database (run load_demo): demo skipped.")
            return None
        history = throughput_histories([team.id], timezone.localdate()).get(team.id, ())
        if len(history) < forecast_engine.MIN_HISTORY_DAYS:
            self.stdout.write(
                f"{DEMO_TEAM} has {len(history)} recorded days "
                f"(< {forecast_engine.MIN_HISTORY_DAYS}): demo replay skipped."
            )
            return None
        distribution = calibration.empirical(f"demo {DEMO_TEAM} history (resampled)", history)
        self.stdout.write(
            f"Demo {DEMO_TEAM}: {len(history)} recorded days, mean {distribution.mean:.1f} "
            f"{team.unit_display}/day."
        )
        return calibration.Case(distribution.name, (distribution,), len(history))
