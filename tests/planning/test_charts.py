"""planning/charts.py: pure chart geometry (no database)."""

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning import charts
from planning.capacity import working_days

DAYS = working_days(date(2026, 11, 9), date(2026, 11, 27))  # 15 working days


def parse(points: str) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in points.split()]


def all_points(chart: charts.Chart) -> list[tuple[float, float]]:
    lines = [line for line in (chart.scope, chart.completed, *chart.fan_lines) if line]
    found = [point for line in lines for point in parse(line.points)]
    found += [point for band in chart.fan_bands for point in parse(band.points)]
    return found


def cumulative(steps: list[float]) -> list[float]:
    total, out = 0.0, []
    for step in steps:
        total += step
        out.append(total)
    return out


def fan_from(origin: float, steps: list[tuple[float, float, float]], today: int):
    """Ordered fan: per day, P50 adds the most, P95 the least, so P50 >= P85 >= P95."""
    fan = {key: [(DAYS[today], origin)] for key in charts.PERCENTILES}
    totals = dict.fromkeys(charts.PERCENTILES, origin)
    for offset, (a, b, c) in enumerate(steps):
        day = DAYS[min(today + offset, len(DAYS) - 1)]
        high, mid, low = sorted((a, b, c), reverse=True)
        for key, add in zip(charts.PERCENTILES, (high, mid, low), strict=True):
            totals[key] += add
            fan[key].append((day, totals[key]))
    return fan


units = st.floats(min_value=0, max_value=5000, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(units, min_size=1, max_size=15),
    fan_steps=st.lists(st.tuples(units, units, units), min_size=1, max_size=10),
    extra_scope=units,
    mode=st.sampled_from(charts.MODES),
)
def test_every_point_stays_inside_the_viewbox(steps, fan_steps, extra_scope, mode):
    completed = list(zip(DAYS, cumulative(steps), strict=False))
    today = len(completed) - 1
    origin = completed[-1][1]
    fan = fan_from(origin, fan_steps, today)
    scope = origin + extra_scope
    chart = charts.burn_chart(
        axis_days=DAYS,
        scope=scope,
        completed=completed,
        fan=fan,
        today=DAYS[today],
        sprint_end=DAYS[-1],
        mode=mode,
    )
    for x, y in all_points(chart):
        assert chart.left <= x <= chart.right
        assert chart.top <= y <= chart.bottom
        assert 0 <= x <= chart.width and 0 <= y <= chart.height
    for label in chart.line_labels:
        assert 0 <= label.y <= chart.height
    for marker in chart.markers:
        assert 0 <= marker.label_y <= chart.height
        assert chart.left <= marker.x <= chart.right
    ticks = [tick.pos for tick in chart.y_ticks]
    assert ticks[0] == chart.bottom and min(ticks) >= chart.top - 1e-9


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(units, min_size=2, max_size=15), mode=st.sampled_from(charts.MODES))
def test_a_monotone_input_gives_a_monotone_path(steps, mode):
    values = cumulative(steps)
    completed = list(zip(DAYS, values, strict=False))
    chart = charts.burn_chart(
        axis_days=DAYS, scope=values[-1], completed=completed, mode=mode, unit="points"
    )
    points = parse(chart.completed.points)
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    # SVG y grows downwards: completion rising = y falling (burnup); remaining falling = y rising.
    if mode == charts.BURNUP:
        assert all(b <= a for a, b in itertools.pairwise(ys))
    else:
        assert all(b >= a for a, b in itertools.pairwise(ys))


@settings(max_examples=60, deadline=None)
@given(
    origin=units,
    fan_steps=st.lists(st.tuples(units, units, units), min_size=1, max_size=10),
    mode=st.sampled_from(charts.MODES),
)
def test_fan_lines_are_ordered(origin, fan_steps, mode):
    """Burnup: completion P50 >= P85 >= P95, so on screen P50 is highest (smallest y).
    Burndown: remaining P50 <= P85 <= P95, so P95 is highest."""
    fan = fan_from(origin, fan_steps, today=3)
    scope = max(values[-1][1] for values in fan.values()) + 10
    chart = charts.burn_chart(axis_days=DAYS, scope=scope, completed=[], fan=fan, mode=mode)
    ys = {line.label: [y for _, y in parse(line.points)] for line in chart.fan_lines}
    for y50, y85, y95 in zip(ys["P50"], ys["P85"], ys["P95"], strict=True):
        if mode == charts.BURNUP:
            assert y50 <= y85 <= y95
        else:
            assert y50 >= y85 >= y95
    # Each band outlines the region between its two lines: the outer line forwards, the
    # inner one backwards.
    wide = parse(next(b for b in chart.fan_bands if b.key == "p50-p95").points)
    n = len(ys["P50"])
    assert [y for _, y in wide[:n]] == ys["P50"]
    assert [y for _, y in wide[n:]] == ys["P95"][::-1]


def test_labels_do_not_overlap_when_lines_end_together():
    fan = {key: [(DAYS[5], 10.0), (DAYS[10], 40.0)] for key in charts.PERCENTILES}
    chart = charts.burn_chart(axis_days=DAYS, scope=40, completed=[(DAYS[0], 0.0)], fan=fan)
    ys = sorted(label.y for label in chart.line_labels)
    assert [label.text for label in chart.line_labels] == ["P50", "P85", "P95"]
    assert all(b - a >= charts.LABEL_GAP for a, b in itertools.pairwise(ys))
    assert all(0 <= y <= chart.height for y in ys)


def test_burndown_draws_remaining_and_the_zero_line():
    completed = [(DAYS[0], 2.0), (DAYS[1], 5.0)]
    up = charts.burn_chart(axis_days=DAYS, scope=10, completed=completed)
    down = charts.burn_chart(axis_days=DAYS, scope=10, completed=completed, mode="burndown")
    # Burnup 5 done and burndown 5 left sit at the same height; 2 done = 8 left.
    assert parse(up.completed.points)[1] == parse(down.completed.points)[1]
    assert parse(up.completed.points)[0][1] > parse(down.completed.points)[0][1]
    assert down.scope is None  # the target, nothing left, is the x axis
    assert "scope" not in [entry.key for entry in down.legend]
    assert parse(up.scope.points)[0][1] < up.bottom
    assert down.legend[0].label == "Remaining so far"


def test_markers_weekends_and_ticks():
    saturday = DAYS[4] + timedelta(days=1)
    chart = charts.burn_chart(
        axis_days=DAYS,
        scope=1200,
        completed=[(DAYS[0], 100.0)],
        today=saturday,  # folds onto Friday
        sprint_end=DAYS[-1],
        unit="images",
    )
    markers = {m.key: m for m in chart.markers}
    assert markers["today"].label == "today" and markers["sprint-end"].label == "sprint end"
    slot = (chart.right - chart.left) / (len(DAYS) - 1)
    assert markers["today"].x == pytest.approx(chart.left + 4 * slot)
    assert markers["sprint-end"].x == chart.right
    for marker in markers.values():  # the label, about 8 px per character, fits the viewBox
        half = 4 * len(marker.label)
        left = {"start": 0, "middle": half, "end": 2 * half}[marker.anchor]
        assert marker.label_x - left >= 0 and marker.label_x - left + 2 * half <= chart.width
    assert len(chart.x_ticks) <= charts.MAX_X_TICKS
    assert chart.x_ticks[0].label == "Nov 9"
    assert [t.label for t in chart.y_ticks] == ["0", "500", "1,000", "1,500"]
    assert chart.y_label == "images"


def test_no_fan_no_bands_and_a_legend_without_percentiles():
    chart = charts.burn_chart(axis_days=DAYS, scope=5, completed=[(DAYS[0], 1.0)])
    assert chart.fan_bands == () and chart.fan_lines == () and chart.line_labels == ()
    assert [entry.key for entry in chart.legend] == ["completed", "scope"]


def test_single_day_axis_and_zero_scope_stay_drawable():
    chart = charts.burn_chart(axis_days=DAYS[:1], scope=0, completed=[(DAYS[0], 0.0)])
    assert chart.y_max == 1
    for x, y in all_points(chart):
        assert chart.left <= x <= chart.right and chart.top <= y <= chart.bottom


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mode": "sideways"}, "mode"), ({"axis_days": []}, "empty")],
)
def test_bad_input_is_refused(kwargs, message):
    arguments = {"axis_days": DAYS, "scope": 1, "completed": [], **kwargs}
    with pytest.raises(ValueError, match=message):
        charts.burn_chart(**arguments)


@pytest.mark.parametrize(
    ("value", "text"), [(1200, "1,200"), (2.5, "2.5"), (0.25, "0.25"), (0, "0"), (3.0, "3")]
)
def test_format_number(value, text):
    assert charts.format_number(value) == text


@pytest.mark.parametrize(("span", "step"), [(1000, 250), (8, 2), (5, 2), (0.4, 0.1), (0, 1)])
def test_nice_step(span, step):
    assert charts.nice_step(span) == pytest.approx(step)
