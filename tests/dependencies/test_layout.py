"""The graph drawing: every arrow points rightwards, lanes do not overlap."""

from hypothesis import given, settings
from hypothesis import strategies as st

from dependencies.layout import NODE_HEIGHT, columns, layout


def test_column_is_the_longest_chain_leading_to_the_ticket():
    # 1 → 2 → 4 and 1 → 4: ticket 4 sits after 2, not right after 1
    assert columns([1, 2, 3, 4], [(1, 2), (2, 4), (1, 4)]) == {1: 0, 2: 1, 3: 0, 4: 2}


def test_links_to_tickets_outside_the_drawing_are_ignored():
    assert columns([1, 2], [(1, 2), (99, 1)]) == {1: 0, 2: 1}


@st.composite
def dags(draw):
    size = draw(st.integers(1, 12))
    pairs = [(a, b) for a in range(size) for b in range(a + 1, size)]
    links = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    lanes = {i: draw(st.sampled_from(["LAB", "ML", "QA"])) for i in range(size)}
    return lanes, links


@settings(max_examples=150, deadline=None)
@given(dags())
def test_every_arrow_points_right_and_boxes_in_a_lane_never_overlap(dag):
    lanes, links = dag
    drawing = layout(lanes, ["LAB", "ML", "QA"], links)
    for blocker, blocked in links:
        assert drawing.boxes[blocker].x < drawing.boxes[blocked].x
    placed = sorted((box.x, box.y) for box in drawing.boxes.values())
    assert len(set(placed)) == len(placed)
    for ticket_id, box in drawing.boxes.items():
        lane = next(lane for lane in drawing.lanes if lane.name == lanes[ticket_id])
        assert lane.y <= box.y and box.y + NODE_HEIGHT <= lane.y + lane.height
