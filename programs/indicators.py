"""Leading indicators of a planning interval (pure: no Django, no queries).

Four indicators, each a trend with the numbers behind it:

* **Labeling throughput**: units (e.g. images) a labeling team completed per working day,
  zero days included, from ticket history (progress steps; Label Studio progress lands in
  the same history). Weekend work folds onto the Friday before (planning.history).
* **Model metric convergence**: the values of one metric on one ticket across its MLflow
  runs, in run order. The spread of the last CONVERGENCE_RUNS runs (max - min) below
  CONVERGENCE_SPREAD reads "converged": more training is unlikely to move the metric.
* **Defect escape rate**: bugs found after their feature was done ÷ all bugs of the PI's
  features. A feature is done when all its non-bug tickets are done, at the time of the
  last such done event; a bug is found when it is created.
* **P(milestone met) over time**: each stored PI forecast's P(met) per milestone.

`trend_chart()` turns series into SVG geometry (points, ticks, labels) for the templates.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from math import ceil

from planning.charts import format_number, nice_step
from planning.history import as_working_day

from .pi_forecast_result import PIForecast

CONVERGENCE_RUNS = 3  # the last k runs compared
CONVERGENCE_SPREAD = 0.005  # max - min of those runs below this reads "converged"
RECENT_DAYS = 5  # throughput "lately": the last working week


# --- labeling throughput -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Throughput:
    team_id: int
    days: tuple[date, ...]
    units: tuple[float, ...]  # per day of `days`, zero days included

    @property
    def total(self) -> float:
        return sum(self.units)

    @property
    def mean(self) -> float | None:
        return self.total / len(self.units) if self.units else None

    @property
    def recent_mean(self) -> float | None:
        recent = self.units[-RECENT_DAYS:]
        return sum(recent) / len(recent) if recent else None

    @property
    def zero_days(self) -> int:
        return sum(1 for units in self.units if units == 0)


def labeling_throughput(
    steps: Iterable[tuple[int, date, float]], team_ids: Iterable[int], days: Sequence[date]
) -> dict[int, Throughput]:
    """(team id, day, units) progress steps -> each team's units per day over `days` (working
    days, oldest first), every day of the window present, zero days included. Steps outside
    the window or not positive are ignored."""
    window = tuple(days)
    in_window = set(window)
    per_team: dict[int, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for team_id, day, units in steps:
        day = as_working_day(day)
        if day in in_window and units > 0:
            per_team[team_id][day] += units
    result = {}
    for team_id in team_ids:
        by_day = per_team.get(team_id, {})
        result[team_id] = Throughput(team_id, window, tuple(by_day.get(d, 0.0) for d in window))
    return result


# --- model metric convergence ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Convergence:
    values: tuple[float, ...]  # in run order
    spread: float | None  # max - min of the last `runs` values; None: fewer runs than that
    converged: bool
    runs: int  # k
    threshold: float

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None

    @property
    def verdict(self) -> str:
        if self.spread is None:
            return f"not enough runs ({len(self.values)} of {self.runs})"
        spread = f"{self.spread:.4f}".rstrip("0").rstrip(".")
        if self.converged:
            return f"converged: last {self.runs} runs within {spread}"
        return f"still moving: last {self.runs} runs span {spread}"


def metric_convergence(
    values: Sequence[float], runs: int = CONVERGENCE_RUNS, threshold: float = CONVERGENCE_SPREAD
) -> Convergence:
    """Spread of the last `runs` values; converged when it is below `threshold`."""
    values = tuple(float(value) for value in values)
    if runs < 1:
        raise ValueError("runs must be at least 1")
    if len(values) < runs:
        return Convergence(values, None, False, runs, threshold)
    last = values[-runs:]
    spread = round(max(last) - min(last), 12)  # float noise off: 0.91 - 0.905 is 0.005
    return Convergence(values, spread, spread < threshold, runs, threshold)


# --- defect escape rate ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A ticket of a feature: when it was created (a bug's "found"), when it was done."""

    ticket_id: int
    feature_id: int
    is_bug: bool
    created_at: datetime
    done_at: datetime | None  # its (latest) done event; None while not done


@dataclass(frozen=True, slots=True)
class DefectEscape:
    escaped: int
    total: int
    escaped_ticket_ids: tuple[int, ...]

    @property
    def rate(self) -> float | None:
        return self.escaped / self.total if self.total else None


def feature_done_times(
    items: Iterable[WorkItem], at: datetime | None = None
) -> dict[int, datetime | None]:
    """Per feature, when it was done: the last done event of its non-bug tickets once all of
    them are done (as of `at` when given); None otherwise, or when it has no such ticket."""
    done: dict[int, datetime | None] = {}
    seen: set[int] = set()
    for item in items:
        if item.is_bug:
            continue
        finished = item.done_at is not None and (at is None or item.done_at <= at)
        if item.feature_id not in seen:
            seen.add(item.feature_id)
            done[item.feature_id] = item.done_at if finished else None
        elif done[item.feature_id] is not None:
            done[item.feature_id] = max(done[item.feature_id], item.done_at) if finished else None
    return done


def defect_escape(items: Sequence[WorkItem], at: datetime | None = None) -> DefectEscape:
    """Bugs found after their feature was done ÷ all bugs, counting only what had happened
    by `at` (everything when None)."""
    done_at = feature_done_times(items, at)
    bugs = [item for item in items if item.is_bug and (at is None or item.created_at <= at)]
    escaped = tuple(
        item.ticket_id
        for item in bugs
        if done_at.get(item.feature_id) is not None and item.created_at > done_at[item.feature_id]
    )
    return DefectEscape(len(escaped), len(bugs), escaped)


def defect_escape_series(
    items: Sequence[WorkItem], cutoffs: Sequence[tuple[str, datetime]]
) -> list[tuple[str, DefectEscape]]:
    """defect_escape() as of each (label, moment): how the rate evolved."""
    return [(label, defect_escape(items, at)) for label, at in cutoffs]


# --- P(milestone met) over time --------------------------------------------------------------


def milestone_series(
    runs: Iterable[tuple[datetime, PIForecast]], milestone_ids: Iterable[int]
) -> dict[int, list[tuple[datetime, float]]]:
    """Per milestone, (computed_at, P(met)) of every forecast run that has it, oldest first."""
    series: dict[int, list[tuple[datetime, float]]] = {mid: [] for mid in milestone_ids}
    for computed_at, forecast in sorted(runs, key=lambda run: run[0]):
        for milestone_id, points in series.items():
            p_met = forecast.milestone(milestone_id).p_met
            if p_met is not None:
                points.append((computed_at, p_met))
    return series


# --- small trend charts ------------------------------------------------------------------------

WIDTH = 520
HEIGHT = 200
MARGIN_LEFT = 52
MARGIN_RIGHT = 16
MARGIN_TOP = 14
MARGIN_BOTTOM = 30
MAX_X_TICKS = 6
Y_TICKS = 4


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float
    label: str
    anchor: str = "middle"  # text-anchor: the last x label ends at the plot's right edge


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    label: str  # "<x label>: <value>" for the <title> tooltip


@dataclass(frozen=True, slots=True)
class TrendLine:
    key: str
    label: str
    css: str  # trend-s0, trend-s1, ...: colour and dash pattern per series
    points: str  # "x,y x,y" for <polyline>
    dots: tuple[Dot, ...]
    end_label: str  # the last value in words, drawn at the end of the line
    end_x: float
    end_y: float
    label_y: float  # baseline of end_label: above the last point, below it near the top


@dataclass(frozen=True, slots=True)
class TrendChart:
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    lines: tuple[TrendLine, ...]
    reference_y: float | None  # a horizontal line (threshold, 50%...)
    reference_label: str
    unit: str


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    values: Sequence[float | None]  # one per x label; None: no point there


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def trend_chart(
    series: Sequence[Series],
    x_labels: Sequence[str],
    *,
    unit: str = "",
    y_min: float | None = 0.0,
    y_max: float | None = None,
    percent: bool = False,
    reference: float | None = None,
    reference_label: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> TrendChart:
    """Geometry of a small line chart: x is the position in `x_labels`, y the value.

    `percent` reads values 0..1 as percentages on the axis and labels. y_min None fits the
    axis to the data (for metrics that live in a narrow band, e.g. 0.88-0.93)."""
    left, top = float(MARGIN_LEFT), float(MARGIN_TOP)
    right, bottom = float(width - MARGIN_RIGHT), float(height - MARGIN_BOTTOM)
    values = [v for s in series for v in s.values if v is not None]
    if reference is not None:
        values.append(reference)
    low = y_min if y_min is not None else (min(values) if values else 0.0)
    high = y_max if y_max is not None else (max(values) if values else 1.0)
    if y_min is None and values:  # fit with a margin, on a nice step
        span = max(high - low, abs(high) * 0.01, 1e-6)
        step = nice_step(span)
        low = (low // step) * step
        high = ceil(high / step - 1e-9) * step
        if high <= low:
            high = low + step
    else:
        step = nice_step(max(high - low, 1e-9))
        high = max(ceil(high / step - 1e-9) * step, low + step)
    count = len(x_labels)
    slot = (right - left) / (count - 1) if count > 1 else 0.0

    def x_of(index: int) -> float:
        return (left + right) / 2 if count == 1 else left + index * slot

    def y_of(value: float) -> float:
        value = min(max(value, low), high)
        return bottom - (bottom - top) * (value - low) / (high - low)

    def label_of(value: float) -> str:
        return f"{value * 100:.0f}%" if percent else format_number(round(value, 4))

    lines = []
    for number, one in enumerate(series):
        xy = [(i, x_of(i), y_of(v), v) for i, v in enumerate(one.values) if v is not None]
        if not xy:
            continue
        dots = tuple(Dot(x, y, f"{x_labels[i]}: {label_of(v)}") for i, x, y, v in xy)
        _, end_x, end_y, end_value = xy[-1]
        lines.append(
            TrendLine(
                key=one.key,
                label=one.label,
                css=f"trend-s{number % 6}",
                points=" ".join(f"{_fmt(x)},{_fmt(y)}" for _, x, y, _ in xy),
                dots=dots,
                end_label=label_of(end_value),
                end_x=round(end_x, 1),
                end_y=round(end_y, 1),
                label_y=round(end_y - 8 if end_y - 8 >= top + 10 else end_y + 16, 1),
            )
        )
    every = max(ceil(count / MAX_X_TICKS), 1)
    x_ticks = tuple(
        Tick(round(x_of(i), 1), label, "end" if i == count - 1 and count > 1 else "middle")
        for i, label in enumerate(x_labels)
        if i % every == 0 or (i == count - 1 and (count - 1) % every >= every / 2)
    )
    steps = round((high - low) / step)
    y_ticks = tuple(
        Tick(round(y_of(low + i * step), 1), label_of(low + i * step)) for i in range(steps + 1)
    )
    return TrendChart(
        width=width,
        height=height,
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        lines=tuple(lines),
        reference_y=round(y_of(reference), 1) if reference is not None else None,
        reference_label=reference_label,
        unit=unit,
    )
