"""Calibration backtest of the Monte Carlo forecast (pure: numpy + stdlib).

Question: when the forecast says "P85 = day d", is the work done by day d in 85% of cases?

Method, per case and replay (all draws seeded, see `_replay_rng`):
1. Draw H past working days from a KNOWN daily-throughput distribution (zero days included
   naturally: a Poisson or lumpy day can be 0). That is the team's history.
2. Pose a scope: N = U(0.8, 1.2) x `days_of_work` x the distribution's mean, i.e. an expected
   finish of ~10 working days. The random factor averages out the day granularity (see 5.).
   A chain case gives each of two teams one ticket (the second blocked by the first) worth
   ~5 days each.
3. Run the forecast engine on that history (planned_daily_rate = the true mean, only used by the
   engine when H < MIN_HISTORY_DAYS, i.e. the low-confidence fallback).
4. Draw the ACTUAL future from the same distribution and find the actual finish day with the
   engine's rules (day indices from 0; a blocked ticket starts the day after its blocker
   finished; the blocked team's output before that is lost). Record actual <= P50, <= P85 and
   whether it finished by the sprint's last day (compared with `p_done_by_sprint_end`).
5. Oracle: the same percentile rules applied to the TRUE finish-day distribution (20,000 true
   futures). Finish days are whole days, so even a perfect forecast's P85 day is met in *at
   least* 85% of cases (the percentile is the first day on which >= 85% of trials are done).
   The oracle hit rate is the best a day-granular forecast can do; the gap between the
   engine's hit rate and the oracle's is the engine's own error (mostly: a short history's
   sample mean is taken as the truth, which makes the spread too narrow).

Hit rates are shares of R independent replays, so their standard error is binomial:
sqrt(h (1 - h) / R). The target is |hit rate - nominal| <= 5 points.
"""

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import sqrt

import numpy as np

from . import forecast_engine

DEFAULT_REPLAYS = 400
DEFAULT_TRIALS = 2_000
DEFAULT_SEED = 0
TARGET_POINTS = 0.05
SPRINT_DAYS = 10  # "done by the sprint's end" = finished on day 0..9
HORIZON_DAYS = 60
ORACLE_PATHS = 20_000
SCOPE_SPREAD = (0.8, 1.2)
NOMINAL = (0.50, 0.85)

# rng, shape -> units per working day (>= 0)
Sampler = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


@dataclass(frozen=True, slots=True)
class Distribution:
    name: str
    mean: float
    sample: Sampler


@dataclass(frozen=True, slots=True)
class Case:
    """One team per distribution; with several, team i's ticket is blocked by team i-1's."""

    name: str
    distributions: tuple[Distribution, ...]
    history_days: int
    days_of_work: float = 10.0  # expected working days to finish the whole case

    @property
    def low_confidence(self) -> bool:
        return self.history_days < forecast_engine.MIN_HISTORY_DAYS


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: str
    history_days: int
    low_confidence: bool
    replays: int
    hit_p50: float
    hit_p85: float
    oracle_p50: float
    oracle_p85: float
    mean_p_done_by_sprint_end: float  # forecast probability, averaged over replays
    done_by_sprint_end: float  # observed share

    @property
    def se_p50(self) -> float:
        return binomial_se(self.hit_p50, self.replays)

    @property
    def se_p85(self) -> float:
        return binomial_se(self.hit_p85, self.replays)

    @property
    def p50_within_target(self) -> bool:
        return abs(self.hit_p50 - NOMINAL[0]) <= TARGET_POINTS + 1e-12

    @property
    def p85_within_target(self) -> bool:
        return abs(self.hit_p85 - NOMINAL[1]) <= TARGET_POINTS + 1e-12


def binomial_se(rate: float, replays: int) -> float:
    return sqrt(rate * (1.0 - rate) / replays) if replays else 0.0


# --- distributions -------------------------------------------------------------------------


def poisson(lam: float = 5.0) -> Distribution:
    return Distribution(f"Poisson({lam:g})", lam, lambda rng, shape: rng.poisson(lam, shape))


def lumpy(mean: float = 5.0, zero_share: float = 0.3, sigma: float = 0.75) -> Distribution:
    """zero_share idle days, otherwise lognormal(sigma) scaled so the overall mean is `mean`."""
    mu = np.log(mean / (1.0 - zero_share)) - sigma**2 / 2.0

    def sample(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        busy = rng.random(shape) >= zero_share
        return np.where(busy, rng.lognormal(mu, sigma, shape), 0.0)

    return Distribution(f"lumpy({zero_share:.0%} zero, lognormal)", mean, sample)


def negative_binomial(mean: float = 5.0, dispersion: float = 2.0) -> Distribution:
    """Over-dispersed counts: variance = mean + mean^2 / dispersion (17.5 for the defaults)."""
    p = dispersion / (dispersion + mean)
    return Distribution(
        f"NegBin(mean {mean:g}, r={dispersion:g})",
        mean,
        lambda rng, shape: rng.negative_binomial(dispersion, p, shape),
    )


def empirical(name: str, days: Sequence[float]) -> Distribution:
    """Resample recorded days (e.g. a real team's history) as if they were the truth."""
    values = np.asarray(days, dtype=float)
    if values.size == 0:
        raise ValueError("empirical distribution needs at least one day")
    return Distribution(
        name, float(values.mean()), lambda rng, shape: values[rng.integers(0, values.size, shape)]
    )


def default_cases() -> list[Case]:
    pois, lump, negbin = poisson(), lumpy(), negative_binomial()
    cases = [Case(d.name, (d,), 20) for d in (pois, lump, negbin)]
    cases.append(Case(f"chain {pois.name} -> {negbin.name}", (pois, negbin), 20))
    cases.append(Case(pois.name, (pois,), 10))
    cases.extend(Case(d.name, (d,), 5) for d in (pois, lump, negbin))
    return cases


# --- backtest ------------------------------------------------------------------------------


def run_backtest(
    cases: Sequence[Case] | None = None,
    *,
    replays: int = DEFAULT_REPLAYS,
    trials: int = DEFAULT_TRIALS,
    seed: int = DEFAULT_SEED,
) -> list[CaseResult]:
    if replays < 1 or trials < 1 or seed < 0:
        raise ValueError("replays and trials must be >= 1, seed >= 0")
    return [
        backtest_case(case, replays=replays, trials=trials, seed=seed)
        for case in (default_cases() if cases is None else cases)
    ]


def backtest_case(case: Case, *, replays: int, trials: int, seed: int) -> CaseResult:
    oracle_futures = _futures(case, _case_rng(seed, case, "oracle"), ORACLE_PATHS)
    hits = np.zeros((4, replays), dtype=bool)  # p50, p85, oracle p50, oracle p85
    p_sprint = np.zeros(replays)
    done_by_end = np.zeros(replays, dtype=bool)
    for replay in range(replays):
        rng = _case_rng(seed, case, "replay", replay)
        histories = [d.sample(rng, (case.history_days,)) for d in case.distributions]
        scopes = _scopes(case, rng)
        actual = int(finish_days(_futures(case, rng, 1), scopes)[0])
        result = forecast_engine.run_forecast(
            _forecast_input(case, histories, scopes, trials, int(rng.integers(0, 2**31)))
        )
        last = result.tickets[len(case.distributions)]
        true_days = finish_days(oracle_futures, scopes)
        oracle = (
            forecast_engine.median_finish_day(true_days, HORIZON_DAYS),
            *forecast_engine.finish_day_percentiles(true_days, HORIZON_DAYS, (85,)),
        )
        for row, day in enumerate((last.p50, last.p85, *oracle)):
            hits[row, replay] = actual <= (HORIZON_DAYS if day is None else day)
        p_sprint[replay] = last.p_done_by_sprint_end
        done_by_end[replay] = actual < SPRINT_DAYS
    rates = hits.mean(axis=1).tolist()
    return CaseResult(
        case=case.name,
        history_days=case.history_days,
        low_confidence=case.low_confidence,
        replays=replays,
        hit_p50=rates[0],
        hit_p85=rates[1],
        oracle_p50=rates[2],
        oracle_p85=rates[3],
        mean_p_done_by_sprint_end=float(p_sprint.mean()),
        done_by_sprint_end=float(done_by_end.mean()),
    )


def finish_days(futures: Sequence[np.ndarray], scopes: Sequence[float]) -> np.ndarray:
    """Actual finish day per path (HORIZON_DAYS = not finished) of the last ticket of a chain.

    futures[i] is team i's output, shape (paths, horizon). Ticket i (team i, size scopes[i])
    starts the day after ticket i-1 finished; its team's output before that is lost. Done once
    the cumulative output reaches the size (minus the engine's rounding tolerance)."""
    paths, horizon = futures[0].shape
    finish = np.full(paths, -1)  # "finished on day -1": the first ticket starts on day 0
    for output, scope in zip(futures, scopes, strict=True):
        cumulative = np.zeros((paths, horizon + 1))
        np.cumsum(output, axis=1, out=cumulative[:, 1:])  # cumulative[:, t] = days 0..t-1
        start = np.minimum(finish + 1, horizon)
        base = np.take_along_axis(cumulative, start[:, np.newaxis], axis=1)
        target = base + scope - forecast_engine.RELATIVE_DONE_TOLERANCE * max(scope, 1.0)
        finish = np.count_nonzero(cumulative[:, 1:] < target, axis=1)
        finish[start >= horizon] = horizon
    return finish


def _scopes(case: Case, rng: np.random.Generator) -> list[float]:
    share = case.days_of_work / len(case.distributions)
    return [float(rng.uniform(*SCOPE_SPREAD)) * share * d.mean for d in case.distributions]


def _futures(case: Case, rng: np.random.Generator, paths: int) -> list[np.ndarray]:
    return [
        np.asarray(d.sample(rng, (paths, HORIZON_DAYS)), dtype=float) for d in case.distributions
    ]


def _forecast_input(
    case: Case, histories: list[np.ndarray], scopes: list[float], trials: int, seed: int
) -> forecast_engine.ForecastInput:
    teams = tuple(
        forecast_engine.TeamInput(id=pos + 1, history=tuple(h.tolist()), planned_daily_rate=d.mean)
        for pos, (d, h) in enumerate(zip(case.distributions, histories, strict=True))
    )
    tickets = tuple(
        forecast_engine.TicketInput(
            id=pos + 1, team_id=pos + 1, remaining=scope, rank=0, blockers=(pos,) if pos else ()
        )
        for pos, scope in enumerate(scopes)
    )
    return forecast_engine.ForecastInput(
        teams=teams,
        tickets=tickets,
        sprint_days=SPRINT_DAYS,
        trials=trials,
        seed=seed,
        horizon_days=HORIZON_DAYS,
    )


def _case_rng(seed: int, case: Case, *keys: str | int) -> np.random.Generator:
    """Streams keyed by (seed, case, purpose, replay): adding a case changes no other case."""
    words = [seed, zlib.crc32(f"{case.name}|{case.history_days}".encode())]
    words += [zlib.crc32(k.encode()) if isinstance(k, str) else k for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


# --- report --------------------------------------------------------------------------------


def format_table(results: Sequence[CaseResult]) -> str:
    header = (
        f"{'case':<44} {'H':>3}  {'P50 met':>13}  {'P85 met':>13}  {'oracle 50/85':>12}"
        f"  {'±5 pts 50/85':>12}  {'P(done by d9) fc/obs':>20}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        flag = " (low conf.)" if r.low_confidence else ""
        lines.append(
            f"{r.case + flag:<44} {r.history_days:>3}  {_rate(r.hit_p50, r.se_p50):>13}  "
            f"{_rate(r.hit_p85, r.se_p85):>13}  "
            f"{f'{r.oracle_p50:.1%}/{r.oracle_p85:.1%}':>12}  "
            f"{f'{_yes(r.p50_within_target)}/{_yes(r.p85_within_target)}':>12}  "
            f"{f'{r.mean_p_done_by_sprint_end:.1%}/{r.done_by_sprint_end:.1%}':>20}"
        )
    replays = {r.replays for r in results}
    lines.append(
        f"R = {', '.join(map(str, sorted(replays)))} replays per case; ± is one binomial "
        "standard error; target: within 5 points of 50% / 85%."
    )
    return "\n".join(lines)


def _rate(rate: float, se: float) -> str:
    return f"{rate:.1%} ± {se:.1%}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
