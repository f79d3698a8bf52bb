"""Burnup / burndown chart geometry (pure: no Django, no queries).

`burn_chart()` takes plain series - cumulative completed units by day, the committed scope and
the forecast fan (cumulative completion by day at P50, P85 and P95) - and returns everything an
SVG template needs: the viewBox size, point strings for <polyline>/<polygon>, axis ticks with
their labels, marker lines, end-of-line labels and legend entries. No drawing decisions are left
to the template.

The x axis is the working days given (weekends are not on it, so a weekend draws no flat step);
each day's x is the end of that day. Several points may share a day (the fan starts at today's
completed level and rises to the end-of-today forecast), which draws a vertical step.

Burnup plots completion: the fan's P50 line is the highest (the 50% line is reached first), P95
the lowest. Burndown plots remaining = scope - completion, so the order flips: P50 is the lowest
remaining line and P95 the highest. Either way the P50-P95 band is the range in which 9 out of
10 outcomes between those percentiles fall, and the P85 line is the planning line.
"""

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from math import ceil, floor, log10

BURNUP = "burnup"
BURNDOWN = "burndown"
MODES = (BURNUP, BURNDOWN)
PERCENTILES = ("P50", "P85", "P95")

WIDTH = 720
HEIGHT = 300
MARGIN_LEFT = 62
MARGIN_RIGHT = 48
MARGIN_TOP = 40
MARGIN_BOTTOM = 34
MAX_X_TICKS = 8
Y_TICKS = 4
LABEL_GAP = 13  # minimum vertical distance between end-of-line labels

DatedValues = Sequence[tuple[date, float]]


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float  # x for the x axis, y for the y axis
    label: str


@dataclass(frozen=True, slots=True)
class Line:
    key: str  # "completed", "scope", "p50", ...
    label: str
    points: str  # "x,y x,y ..." for <polyline points>
    css: str


@dataclass(frozen=True, slots=True)
class Band:
    key: str
    label: str
    points: str  # closed outline for <polygon points>
    css: str


@dataclass(frozen=True, slots=True)
class Marker:
    key: str  # "today" | "sprint-end"
    label: str
    x: float
    label_x: float
    label_y: float
    anchor: str  # text-anchor


@dataclass(frozen=True, slots=True)
class LineLabel:
    text: str
    x: float
    y: float
    css: str


@dataclass(frozen=True, slots=True)
class LegendEntry:
    key: str
    label: str
    css: str
    shape: str  # "line" | "band"


@dataclass(frozen=True, slots=True)
class Chart:
    mode: str
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    y_max: float
    y_label: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    completed: Line | None
    scope: Line | None  # burnup only
    fan_bands: tuple[Band, ...]
    fan_lines: tuple[Line, ...]
    markers: tuple[Marker, ...]
    line_labels: tuple[LineLabel, ...]
    legend: tuple[LegendEntry, ...]

    @property
    def plot_width(self) -> float:
        return self.right - self.left

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top

    @property
    def y_label_x(self) -> float:
        """x of the unit label in its rotate(-90) frame: centred on the plot's height."""
        return -(self.top + self.bottom) / 2


# --- scales ----------------------------------------------------------------------------------


# Below this the chart has nothing to scale to; it also keeps log10 and division away from
# subnormal floats.
SMALLEST_SPAN = 1e-9


def nice_step(span: float, ticks: int = Y_TICKS) -> float:
    """A 1-2-5 step that divides `span` into about `ticks` intervals."""
    if span <= SMALLEST_SPAN:  # nothing (or a rounding speck) to show: a unit axis
        return 1.0
    raw = span / ticks
    magnitude = 10 ** floor(log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def format_number(value: float) -> str:
    """1200 -> '1,200'; 2.5 -> '2.5'; 0.25 -> '0.25'."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _day_index(days: Sequence[date], day: date) -> int:
    """Index of `day` on the axis; a day off the axis (a weekend) folds onto the working day
    before it, and days outside the axis clamp to its ends."""
    return min(max(bisect_right(days, day) - 1, 0), len(days) - 1)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _points(xy: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in xy)


# --- the chart -------------------------------------------------------------------------------


def burn_chart(
    *,
    axis_days: Sequence[date],
    scope: float,
    completed: DatedValues,
    fan: Mapping[str, DatedValues] | None = None,
    today: date | None = None,
    sprint_end: date | None = None,
    mode: str = BURNUP,
    unit: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """Geometry of one team's burnup (or burndown) chart.

    `completed` and every `fan` series are cumulative completion (never remaining), with dates
    on or within `axis_days` (working days, oldest first). `fan` maps "P50"/"P85"/"P95" to
    series over the same dates. In burndown mode every value v is drawn as scope - v."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not axis_days:
        raise ValueError("axis_days must not be empty")
    days = list(axis_days)
    if days != sorted(days):
        raise ValueError("axis_days must be in ascending order")
    fan = {key: series for key, series in (fan or {}).items() if series}

    def shown(value: float) -> float:
        value = float(value)
        return max(scope - value, 0.0) if mode == BURNDOWN else max(value, 0.0)

    all_values = [scope, *(shown(v) for _, v in completed)]
    all_values += [shown(v) for series in fan.values() for _, v in series]
    step = nice_step(max(all_values))
    y_max = max(ceil(max(all_values) / step - 1e-9), 1) * step

    left, top = float(MARGIN_LEFT), float(MARGIN_TOP)
    right, bottom = float(width - MARGIN_RIGHT), float(height - MARGIN_BOTTOM)
    slot = (right - left) / (len(days) - 1) if len(days) > 1 else 0.0

    def x_of(day: date) -> float:
        if len(days) == 1:
            return (left + right) / 2
        return left + _day_index(days, day) * slot

    def y_of(value: float) -> float:
        value = min(max(value, 0.0), y_max)
        return bottom - (bottom - top) * value / y_max

    def xy(series: DatedValues) -> list[tuple[float, float]]:
        return [(x_of(day), y_of(shown(value))) for day, value in series]

    completed_line = (
        Line(
            "completed",
            "Completed" if mode == BURNUP else "Remaining",
            _points(xy(completed)),
            "burn-completed",
        )
        if completed
        else None
    )
    # Burndown needs no target line: nothing left is the x axis itself.
    scope_line = None
    if mode == BURNUP:
        scope_y = y_of(scope)
        scope_line = Line(
            "scope", "Committed scope", _points([(left, scope_y), (right, scope_y)]), "burn-scope"
        )
    lines_xy = {key: xy(fan[key]) for key in PERCENTILES if key in fan}
    bands = []
    for outer, inner, css in (("P50", "P95", "burn-band-wide"), ("P50", "P85", "burn-band-core")):
        if outer in lines_xy and inner in lines_xy:
            outline = lines_xy[outer] + lines_xy[inner][::-1]
            bands.append(
                Band(f"{outer}-{inner}".lower(), f"{outer} to {inner}", _points(outline), css)
            )
    fan_lines = tuple(
        Line(key.lower(), key, _points(points), f"burn-{key.lower()}")
        for key, points in lines_xy.items()
    )
    line_labels = _spread_labels(
        [(key, points[-1][1]) for key, points in lines_xy.items()], right + 4, top, bottom
    )
    markers = []
    if sprint_end is not None:
        markers.append(_marker("sprint-end", "sprint end", x_of(sprint_end), top - 24, width))
    if today is not None and days[0] <= today:
        markers.append(_marker("today", "today", x_of(today), top - 8, width))
    return Chart(
        mode=mode,
        width=width,
        height=height,
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        y_max=y_max,
        y_label=unit,
        x_ticks=_x_ticks(days, x_of),
        y_ticks=tuple(
            Tick(y_of(i * step), format_number(i * step)) for i in range(round(y_max / step) + 1)
        ),
        completed=completed_line,
        scope=scope_line,
        fan_bands=tuple(bands),
        fan_lines=fan_lines,
        markers=tuple(markers),
        line_labels=line_labels,
        legend=_legend(mode, completed_line is not None, tuple(lines_xy), bands),
    )


def _x_ticks(days: list[date], x_of) -> tuple[Tick, ...]:
    every = max(ceil(len(days) / MAX_X_TICKS), 1)
    return tuple(
        Tick(x_of(day), f"{day:%b} {day.day}") for i, day in enumerate(days) if i % every == 0
    )


def _marker(key: str, label: str, x: float, label_y: float, width: int) -> Marker:
    # Keep the label inside the viewBox: near an edge, anchor it to that edge's side.
    half = 4 * len(label)  # about half the label's width at 12 px
    if x - half < 0:
        return Marker(key, label, x, x + 2, label_y, "start")
    if x + half > width:
        return Marker(key, label, x, x - 2, label_y, "end")
    return Marker(key, label, x, x, label_y, "middle")


def _spread_labels(
    labels: list[tuple[str, float]], x: float, top: float, bottom: float
) -> tuple[LineLabel, ...]:
    """End-of-line labels, pushed apart so that none overlaps another (min LABEL_GAP),
    kept within [top, bottom + LABEL_GAP / 2]."""
    if not labels:
        return ()
    ordered = sorted(labels, key=lambda item: (item[1], item[0]))
    ys = [min(max(y + 4, top + 4), bottom + 4) for _, y in ordered]  # +4: baseline below centre
    for i in range(1, len(ys)):
        ys[i] = max(ys[i], ys[i - 1] + LABEL_GAP)
    overflow = ys[-1] - (bottom + LABEL_GAP / 2)
    if overflow > 0:
        ys = [y - overflow for y in ys]
        for i in range(len(ys) - 2, -1, -1):
            ys[i] = min(ys[i], ys[i + 1] - LABEL_GAP)
    return tuple(
        LineLabel(key, x, round(y, 1), f"burn-label-{key.lower()}")
        for (key, _), y in zip(ordered, ys, strict=True)
    )


def _legend(
    mode: str, has_completed: bool, fan_keys: tuple[str, ...], bands: list[Band]
) -> tuple[LegendEntry, ...]:
    entries = []
    if has_completed:
        label = "Completed so far" if mode == BURNUP else "Remaining so far"
        entries.append(LegendEntry("completed", label, "burn-completed", "line"))
    if mode == BURNUP:
        entries.append(LegendEntry("scope", "Committed scope (sizes now)", "burn-scope", "line"))
    words = {
        "P50": "P50 forecast: even odds",
        "P85": "P85 forecast: likely, plan on this",
        "P95": "P95 forecast: nearly certain",
    }
    for key in fan_keys:
        entries.append(LegendEntry(key.lower(), words[key], f"burn-{key.lower()}", "line"))
    for band in bands:
        entries.append(LegendEntry(band.key, f"Band {band.label}", band.css, "band"))
    return tuple(entries)
