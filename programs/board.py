"""The program board (SAFe ART planning board), pure: no Django, no queries.

Given the PI's iterations in order, its features (planned iteration and forecast P85
iteration, as indices 0..n-1) and the dependencies between features, this module decides:

- each feature's **column**: the iteration of its forecast P85 when it has a forecast,
  else its planned iteration; "after the PI" (index n) when the P85 falls after the last
  iteration or is never reached within the forecast horizon; None when neither exists;
- each dependency's **health** (SAFe): the provider's expected iteration is the later of
  its planned iteration and its forecast column; red when that is later than the
  consumer's planned iteration (or the provider has no iteration at all while the
  consumer is planned), orange when it is the same, green when earlier. A done provider
  or consumer, or an unplanned consumer, is green. The rule itself is
  dependencies.graph.link_health, reused on iteration indices. When the provider's
  tickets that actually block the consumer's are known (a ProviderPart), only they count:
  a big labeling feature whose first batch is all a squad needs is judged by that batch;
- the **back-loading warning**: the PI has three or more iterations and at least half of
  the features that have a planned iteration are planned in the last two;
- a simple SVG **layout**: rows = teams plus a milestones row, columns = iterations (plus
  "after the PI", and "not placed" when needed), feature cards stacked in their cell, and
  one line per dependency from the provider's card to the consumer's.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from dependencies.graph import Node, link_health

RED, ORANGE, GREEN = "red", "orange", "green"
# Text beside each line: colour is never the only signal (the lines are dashed too).
HEALTH_MARK = {RED: "✕ late", ORANGE: "= same", GREEN: "✓ ok"}
BACKLOAD_MIN_ITERATIONS = 3


# --- plain data in ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardIteration:
    sprint_id: int
    number: int  # 1..n
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"I{self.number}"


@dataclass(frozen=True, slots=True)
class BoardFeature:
    id: int
    team_id: int
    title: str
    planned: int | None  # planned iteration index 0..n-1; None = not planned yet
    has_forecast: bool = False  # the forecast has unfinished work of this feature
    forecast: int | None = None  # P85 iteration index (n or more = after the PI); None = never
    done: bool = False
    milestone_id: int | None = None


@dataclass(frozen=True, slots=True)
class BoardMilestone:
    id: int
    name: str
    day: date


# --- placement and health --------------------------------------------------------------------


def iteration_index(day: date | None, iterations: Sequence[BoardIteration]) -> int | None:
    """Index of the iteration a day falls in: a day in a gap belongs to the next iteration,
    a day before the first to the first; after the last iteration: n. None stays None."""
    if day is None:
        return None
    for index, iteration in enumerate(iterations):
        if day <= iteration.end:
            return index
    return len(iterations)


def column(feature: BoardFeature, n: int) -> int | None:
    """Where the card goes: forecast P85 iteration, else planned; n = after the PI."""
    if feature.has_forecast and not feature.done:
        if feature.forecast is None or feature.forecast >= n:
            return n
        return max(feature.forecast, 0)
    return feature.planned


def expected_index(feature: BoardFeature, n: int) -> int | None:
    """When the provider is expected to deliver: the later of planned and forecast."""
    candidates = [feature.planned] if feature.planned is not None else []
    if feature.has_forecast and not feature.done:
        candidates.append(column(feature, n))
    return max(candidates) if candidates else None


@dataclass(frozen=True, slots=True)
class Dependency:
    provider_id: int
    consumer_id: int
    health: str  # red | orange | green
    provider_index: int | None  # expected iteration of the provider (n = after the PI)
    consumer_index: int | None  # planned iteration of the consumer
    reason: str  # in words, e.g. "provider finishes in I4 after consumer's I3"

    @property
    def mark(self) -> str:
        return HEALTH_MARK[self.health]


@dataclass(frozen=True, slots=True)
class ProviderPart:
    """The provider's tickets that block the consumer's tickets: whether they are all done,
    when the unfinished ones are expected (the latest of each one's planned and forecast
    iteration; None when one of them has neither), and their keys, for the reason."""

    done: bool
    at: int | None
    keys: tuple[str, ...] = ()


def ticket_expected_index(planned: int | None, forecast: int | None) -> int | None:
    """One blocking ticket: the later of its sprint's iteration and its forecast P85 one."""
    known = [index for index in (planned, forecast) if index is not None]
    return max(known) if known else None


def provider_part(tickets: Sequence[tuple[str, bool, int | None]]) -> ProviderPart:
    """(key, done, expected index) of each blocking ticket -> the part as a whole."""
    open_tickets = [(key, at) for key, done, at in tickets if not done]
    if not open_tickets:
        return ProviderPart(done=True, at=None, keys=tuple(key for key, _, _ in tickets))
    indexes = [at for _, at in open_tickets]
    at = None if None in indexes else max(indexes)
    return ProviderPart(done=False, at=at, keys=tuple(key for key, _ in open_tickets))


def dependency_health(provider_done: bool, provider_at: int | None, consumer: BoardFeature) -> str:
    blocker = Node(0, "", 0, provider_done, 0.0, provider_at)
    blocked = Node(consumer.id, "", consumer.team_id, consumer.done, 0.0, consumer.planned)
    return link_health(blocker, blocked)


def dependencies(
    features: Sequence[BoardFeature],
    pairs: Sequence[tuple[int, int]],
    iterations: Sequence[BoardIteration],
    parts: dict[tuple[int, int], ProviderPart] | None = None,
) -> list[Dependency]:
    """Health of each (provider id, consumer id) pair; pairs naming a feature not given,
    or a feature and itself, are skipped. `parts`: per pair, the provider's tickets that
    block the consumer's (else the whole provider feature counts). Sorted red first."""
    by_id = {feature.id: feature for feature in features}
    n = len(iterations)
    found = []
    for provider_id, consumer_id in dict.fromkeys(pairs):
        provider, consumer = by_id.get(provider_id), by_id.get(consumer_id)
        if provider is None or consumer is None or provider_id == consumer_id:
            continue
        part = (parts or {}).get((provider_id, consumer_id))
        provider_done = part.done if part else provider.done
        provider_at = part.at if part else expected_index(provider, n)
        health = dependency_health(provider_done, provider_at, consumer)
        reason = _reason(health, provider_done, consumer, provider_at, iterations)
        if part and part.keys:
            reason += f" (via {', '.join(part.keys)})"
        found.append(
            Dependency(
                provider_id=provider_id,
                consumer_id=consumer_id,
                health=health,
                provider_index=provider_at,
                consumer_index=consumer.planned,
                reason=reason,
            )
        )
    order = {RED: 0, ORANGE: 1, GREEN: 2}
    return sorted(found, key=lambda d: (order[d.health], d.provider_id, d.consumer_id))


def index_label(index: int | None, iterations: Sequence[BoardIteration]) -> str:
    if index is None:
        return "not planned"
    if index >= len(iterations):
        return "after the PI"
    return iterations[index].label


def _reason(
    health: str,
    provider_done: bool,
    consumer: BoardFeature,
    provider_at: int | None,
    iterations: Sequence[BoardIteration],
) -> str:
    provider_label = index_label(provider_at, iterations)
    consumer_label = index_label(consumer.planned, iterations)
    if provider_done:
        return "provider is done"
    if consumer.done:
        return "consumer is done"
    if consumer.planned is None:
        return "consumer is not planned yet"
    if health == RED:
        if provider_at is None:
            return f"provider is not planned, consumer planned in {consumer_label}"
        if provider_at >= len(iterations):
            return f"provider finishes after the PI, after consumer's {consumer_label}"
        return f"provider finishes in {provider_label} after consumer's {consumer_label}"
    if health == ORANGE:
        return f"both in {consumer_label}: provider must finish first within the iteration"
    return f"provider finishes in {provider_label}, before consumer's {consumer_label}"


@dataclass(frozen=True, slots=True)
class BackLoad:
    warning: bool
    in_last_two: int
    planned: int  # features with a planned iteration (the denominator)

    @property
    def text(self) -> str:
        return (
            f"Back-loaded plan: {self.in_last_two} of {self.planned} planned features are "
            "planned in the last two iterations."
        )


def back_loading(features: Sequence[BoardFeature], n: int) -> BackLoad:
    """Warn when the PI has >= 3 iterations and at least half of the planned features (by
    count; features without a planned iteration are left out) sit in the last two."""
    planned = [f.planned for f in features if f.planned is not None]
    late = sum(1 for index in planned if index >= n - 2)
    warning = n >= BACKLOAD_MIN_ITERATIONS and bool(planned) and 2 * late >= len(planned)
    return BackLoad(warning=warning, in_last_two=late, planned=len(planned))


# --- SVG layout ------------------------------------------------------------------------------

LABEL_WIDTH = 165
COLUMN_WIDTH = 175
HEADER_HEIGHT = 44
CARD_WIDTH = 159
CARD_HEIGHT = 50
CARD_GAP = 10
ROW_PADDING = 12
MILESTONE_ROW_HEIGHT = 76
LINE_BEND = 50


@dataclass(frozen=True, slots=True)
class Box:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # "0".."n-1", "after", "unplaced"
    label: str
    sub_label: str
    x: int
    width: int


@dataclass(frozen=True, slots=True)
class Row:
    key: str  # team id as text, or "milestones"
    label: str
    y: int
    height: int


@dataclass(frozen=True, slots=True)
class Card:
    feature_id: int
    column: int | None
    box: Box


@dataclass(frozen=True, slots=True)
class Line:
    provider_id: int
    consumer_id: int
    health: str
    path: str
    label_x: int
    label_y: int
    mark: str


@dataclass(frozen=True, slots=True)
class MilestoneMark:
    id: int
    name: str
    x: int
    y: int
    label_dy: int = 26  # label baseline below the mark


@dataclass(frozen=True, slots=True)
class BoardLayout:
    width: int
    height: int
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    cards: dict[int, Card]
    lines: tuple[Line, ...]
    milestones: tuple[MilestoneMark, ...]


def layout(
    iterations: Sequence[BoardIteration],
    teams: Sequence[tuple[int, str]],
    features: Sequence[BoardFeature],
    links: Sequence[Dependency],
    milestones: Sequence[BoardMilestone] = (),
) -> BoardLayout:
    """Rows: one per team in the order given (teams of features not listed are added),
    then the milestones row. Columns: the iterations, "after the PI", and "not placed"
    when some feature has neither a planned nor a forecast iteration."""
    n = len(iterations)
    columns = [
        Column(
            str(i),
            it.label,
            f"{it.start:%b} {it.start.day} \u2013 {it.end:%b} {it.end.day}",
            LABEL_WIDTH + i * COLUMN_WIDTH,
            COLUMN_WIDTH,
        )
        for i, it in enumerate(iterations)
    ]
    columns.append(
        Column("after", "After the PI", "", LABEL_WIDTH + n * COLUMN_WIDTH, COLUMN_WIDTH)
    )
    placed = {f.id: column(f, n) for f in features}
    if any(at is None for at in placed.values()):
        columns.append(
            Column("unplaced", "Not placed", "", LABEL_WIDTH + (n + 1) * COLUMN_WIDTH, COLUMN_WIDTH)
        )
    column_of = {at: pos for pos, at in enumerate([*range(n + 1), None])}

    team_order = list(teams)
    known = {team_id for team_id, _ in team_order}
    for feature in features:
        if feature.team_id not in known:
            known.add(feature.team_id)
            team_order.append((feature.team_id, f"Team {feature.team_id}"))
    cells: dict[tuple[int, int], list[BoardFeature]] = defaultdict(list)
    for feature in features:
        cells[(feature.team_id, column_of[placed[feature.id]])].append(feature)

    rows, cards, y = [], {}, HEADER_HEIGHT
    for team_id, label in team_order:
        stacked = max((len(cells[(team_id, c)]) for c in range(len(columns))), default=0)
        height = ROW_PADDING * 2 + max(stacked, 1) * (CARD_HEIGHT + CARD_GAP) - CARD_GAP
        rows.append(Row(str(team_id), label, y, height))
        for col_pos, col in enumerate(columns):
            for slot, feature in enumerate(cells[(team_id, col_pos)]):
                box = Box(
                    col.x + (COLUMN_WIDTH - CARD_WIDTH) // 2,
                    y + ROW_PADDING + slot * (CARD_HEIGHT + CARD_GAP),
                    CARD_WIDTH,
                    CARD_HEIGHT,
                )
                cards[feature.id] = Card(feature.id, placed[feature.id], box)
        y += height
    milestone_row = Row("milestones", "Milestones", y, MILESTONE_ROW_HEIGHT)
    rows.append(milestone_row)
    # Labels alternate between two lines so neighbouring milestones stay readable.
    marks = tuple(
        MilestoneMark(
            m.id, m.name, round(_milestone_x(m.day, iterations, columns)), y + 20, 26 + 18 * (i % 2)
        )
        for i, m in enumerate(sorted(milestones, key=lambda m: (m.day, m.id)))
    )
    lines = tuple(
        _line(link, cards) for link in links if {link.provider_id, link.consumer_id} <= cards.keys()
    )
    # Room on the right for a line between two cards of the last column, which bends out.
    width = LABEL_WIDTH + len(columns) * COLUMN_WIDTH + LINE_BEND
    return BoardLayout(
        width=width,
        height=y + MILESTONE_ROW_HEIGHT,
        columns=tuple(columns),
        rows=tuple(rows),
        cards=cards,
        lines=lines,
        milestones=marks,
    )


def _milestone_x(
    day: date, iterations: Sequence[BoardIteration], columns: Sequence[Column]
) -> float:
    index = iteration_index(day, iterations)
    if index is None or index >= len(iterations):
        return columns[len(iterations)].x + 8
    iteration, col = iterations[index], columns[index]
    span = (iteration.end - iteration.start).days + 1
    share = min(max((day - iteration.start).days + 1, 0) / span, 1.0)
    return col.x + share * col.width


def _line(link: Dependency, cards: dict[int, Card]) -> Line:
    """Forward (consumer in a later column): provider's right edge to the consumer's left
    edge. Backward (a red line): provider's left edge to the consumer's right edge. Same
    column: right edge to right edge, bending out to the right."""
    start, end = cards[link.provider_id].box, cards[link.consumer_id].box
    y1, y2 = start.y + start.height / 2, end.y + end.height / 2
    if end.x > start.x:
        x1, x2 = start.x + start.width, end.x
        c1, c2 = x1 + LINE_BEND, x2 - LINE_BEND
    elif end.x < start.x:
        x1, x2 = start.x, end.x + end.width
        c1, c2 = x1 - LINE_BEND, x2 + LINE_BEND
    else:
        x1 = x2 = start.x + start.width
        c1 = c2 = x1 + LINE_BEND
    path = f"M{x1:.0f},{y1:.0f} C{c1:.0f},{y1:.0f} {c2:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
    label_x = (x1 + x2) / 2 if x1 != x2 else x1 + LINE_BEND * 0.75
    return Line(
        provider_id=link.provider_id,
        consumer_id=link.consumer_id,
        health=link.health,
        path=path,
        label_x=round(label_x),
        label_y=round((y1 + y2) / 2),
        mark=link.mark,
    )
