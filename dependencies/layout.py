"""Where to draw a dependency graph: one lane per team, one column per dependency level.

Pure (no Django): ids, lanes and links in; coordinates out. A ticket's column is the
length of the longest chain of links leading to it, so every link points rightwards.
"""

from collections import defaultdict, deque
from dataclasses import dataclass

NODE_WIDTH = 178
NODE_HEIGHT = 48
COLUMN_GAP = 64
ROW_GAP = 14
LANE_PADDING = 16
LABEL_WIDTH = 140


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT

    @property
    def right_middle(self) -> tuple[float, float]:
        return self.x + self.width, self.y + self.height / 2

    @property
    def left_middle(self) -> tuple[float, float]:
        return self.x, self.y + self.height / 2


@dataclass(frozen=True, slots=True)
class Lane:
    name: str
    y: float
    height: float


@dataclass(frozen=True, slots=True)
class Layout:
    boxes: dict[int, Box]
    lanes: list[Lane]
    width: float
    height: float

    def edge_path(self, blocker: int, blocked: int) -> str:
        """An SVG cubic curve from the blocker's right edge to the blocked's left edge."""
        (x1, y1), (x2, y2) = self.boxes[blocker].right_middle, self.boxes[blocked].left_middle
        bend = max((x2 - x1) / 2, 24)
        start, end = f"M{x1:.0f},{y1:.0f}", f"{x2:.0f},{y2:.0f}"
        return f"{start} C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {end}"


def columns(ids: list[int], links: list[tuple[int, int]]) -> dict[int, int]:
    """Longest-path level of each id (0 for tickets nothing leads to), via Kahn's order."""
    known = set(ids)
    successors: dict[int, list[int]] = defaultdict(list)
    indegree = dict.fromkeys(ids, 0)
    for blocker, blocked in links:
        if blocker in known and blocked in known:
            successors[blocker].append(blocked)
            indegree[blocked] += 1
    level = dict.fromkeys(ids, 0)
    ready = deque(sorted(i for i in ids if indegree[i] == 0))
    while ready:
        current = ready.popleft()
        for nxt in successors[current]:
            level[nxt] = max(level[nxt], level[current] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return level


def layout(lane_of: dict[int, str], lane_order: list[str], links: list[tuple[int, int]]) -> Layout:
    """Place every id of `lane_of` in its lane, at its column, stacked within the cell."""
    ids = sorted(lane_of)
    level = columns(ids, links)
    stack: dict[tuple[str, int], list[int]] = defaultdict(list)
    for ticket_id in ids:
        stack[(lane_of[ticket_id], level[ticket_id])].append(ticket_id)
    boxes: dict[int, Box] = {}
    lanes: list[Lane] = []
    y = 0.0
    for name in lane_order:
        rows = max((len(v) for (lane, _), v in stack.items() if lane == name), default=0)
        if rows == 0:
            continue
        height = rows * NODE_HEIGHT + (rows - 1) * ROW_GAP + 2 * LANE_PADDING
        for (lane, column), members in stack.items():
            if lane != name:
                continue
            for row, ticket_id in enumerate(members):
                boxes[ticket_id] = Box(
                    x=LABEL_WIDTH + column * (NODE_WIDTH + COLUMN_GAP),
                    y=y + LANE_PADDING + row * (NODE_HEIGHT + ROW_GAP),
                )
        lanes.append(Lane(name=name, y=y, height=height))
        y += height
    width = LABEL_WIDTH + (max(level.values(), default=0) + 1) * (NODE_WIDTH + COLUMN_GAP)
    return Layout(boxes=boxes, lanes=lanes, width=width, height=max(y, NODE_HEIGHT))
