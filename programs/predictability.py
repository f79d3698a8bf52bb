"""PI predictability (SAFe): how much of the business value a team committed to it delivered.

    predictability % = Σ actual BV of ALL objectives ÷ Σ planned BV of COMMITTED objectives x 100

Uncommitted (stretch) objectives add to the actual value only, so the figure can exceed 100%.
The healthy band is 80-100%.

Rule for objectives not scored yet (stated once, used everywhere):

- a scope (one team in one PI, or the whole program in one PI) is *scored* only when every
  one of its objectives has a planned value (committed ones) and an actual value. Until then
  its percent is None and its state is ``"not_scored"``; the count of unscored objectives is
  given so a page can say "not scored yet (2 of 5 without an actual value)". An objective
  without an actual value is never counted as 0: that would report a team that simply has
  not been scored as a team that delivered nothing.
- a scope with no committed objective (or no planned value on them) has no denominator:
  percent None, state ``"no_commitment"``.

Pure: plain data in, plain data out; no Django.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HEALTHY_LOW = 80.0
HEALTHY_HIGH = 100.0

SCORED = "scored"
NOT_SCORED = "not_scored"
NO_COMMITMENT = "no_commitment"


@dataclass(frozen=True)
class ObjectiveValue:
    """One objective as the arithmetic sees it."""

    team: str  # any stable team label, e.g. the key prefix
    committed: bool
    planned: int | None
    actual: int | None


@dataclass(frozen=True)
class Predictability:
    objectives: int
    committed: int
    unscored: int  # objectives still missing the value the rule needs
    planned_committed: int  # Σ planned BV of committed objectives (the denominator)
    planned_stretch: int  # Σ planned BV of stretch objectives (shown, never divided by)
    actual: int  # Σ actual BV of the objectives scored so far
    percent: float | None
    state: str

    @property
    def healthy(self) -> bool | None:
        if self.percent is None:
            return None
        return HEALTHY_LOW <= self.percent <= HEALTHY_HIGH

    @property
    def verdict(self) -> str:
        """The figure in words, for pages (never colour alone)."""
        if self.state == NO_COMMITMENT:
            return "no committed objectives"
        if self.state == NOT_SCORED:
            return f"not scored yet ({self.unscored} of {self.objectives} unscored)"
        assert self.percent is not None
        if self.percent > HEALTHY_HIGH:
            return "above plan"
        if self.percent >= HEALTHY_LOW:
            return "predictable"
        return "below the 80% band"


def predictability(objectives: Iterable[ObjectiveValue]) -> Predictability:
    """The figure for one scope (a team in a PI, or a whole PI); see the module's rule."""
    items = list(objectives)
    committed = [o for o in items if o.committed]
    denominator = sum(o.planned or 0 for o in committed)
    unscored = sum(1 for o in items if o.actual is None or (o.committed and o.planned is None))
    actual = sum(o.actual or 0 for o in items)
    if not committed or denominator == 0:
        percent, state = None, NO_COMMITMENT
    elif unscored:
        percent, state = None, NOT_SCORED
    else:
        percent, state = actual / denominator * 100, SCORED
    return Predictability(
        objectives=len(items),
        committed=len(committed),
        unscored=unscored,
        planned_committed=denominator,
        planned_stretch=sum(o.planned or 0 for o in items if not o.committed),
        actual=actual,
        percent=percent,
        state=state,
    )


@dataclass(frozen=True)
class Report:
    """Per team (in the order the teams were given) and for the whole scope."""

    teams: dict[str, Predictability]
    program: Predictability


def report(objectives: Iterable[ObjectiveValue], teams: Sequence[str] = ()) -> Report:
    """Predictability per team and for the program. Teams listed in `teams` appear even
    without objectives (state no_commitment); others follow in first-seen order."""
    items = list(objectives)
    order = list(dict.fromkeys([*teams, *(o.team for o in items)]))
    return Report(
        teams={team: predictability(o for o in items if o.team == team) for team in order},
        program=predictability(items),
    )


@dataclass(frozen=True)
class HistoryPoint:
    label: str  # the PI's name
    figure: Predictability


def history(pis: Sequence[tuple[str, Iterable[ObjectiveValue]]]) -> list[HistoryPoint]:
    """One program figure per PI, in the order given (oldest first)."""
    return [HistoryPoint(label, predictability(values)) for label, values in pis]


# --- a small trend chart ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrendDot:
    x: float
    y: float | None  # None: not scored, no dot (never drawn as 0%)
    label: str
    text: str  # the value as people read it, e.g. "92%" or "not scored yet"


@dataclass(frozen=True)
class Trend:
    width: int
    height: int
    band_top: float  # y of 100%
    band_bottom: float  # y of 80%
    left: int  # x where the plot starts (room for the tick labels)
    line: str  # SVG polyline points through the scored PIs
    dots: list[TrendDot]
    y_max: float
    ticks: list[tuple[float, str]]  # (y, "100%")

    @property
    def plot_width(self) -> int:
        return self.width - self.left

    @property
    def band_height(self) -> float:
        return round(self.band_bottom - self.band_top, 1)


def trend(
    points: Sequence[HistoryPoint],
    *,
    width: int = 440,
    height: int = 180,
    pad: int = 60,
    left: int = 46,
) -> Trend:
    """Coordinates for an inline SVG: one dot per scored PI (an unscored PI gets its label
    and state as text but no dot: it is not 0%), a line through the scored ones, the
    80-100% band marked."""
    scored = [p.figure.percent for p in points if p.figure.percent is not None]
    y_max = max([120.0, *(v * 1.1 for v in scored)])

    def y_of(value: float) -> float:
        top, bottom = 24, 30  # room for the value labels and the PI names
        return round(height - bottom - value / y_max * (height - top - bottom), 1)

    step = (width - left - 2 * pad) / max(len(points) - 1, 1)
    dots = []
    for index, point in enumerate(points):
        x = round(left + pad + index * step if len(points) > 1 else (width + left) / 2, 1)
        value = point.figure.percent
        dots.append(
            TrendDot(
                x=x,
                y=y_of(value) if value is not None else None,
                label=point.label,
                text=f"{value:.0f}%" if value is not None else point.figure.verdict,
            )
        )
    line = " ".join(f"{dot.x},{dot.y}" for dot in dots if dot.y is not None)
    return Trend(
        width=width,
        height=height,
        band_top=y_of(HEALTHY_HIGH),
        band_bottom=y_of(HEALTHY_LOW),
        left=left,
        line=line,
        dots=dots,
        y_max=y_max,
        ticks=[(y_of(v), f"{v:.0f}%") for v in (0.0, HEALTHY_LOW, HEALTHY_HIGH)],
    )
