"""The pure program-board rules (programs/board.py): placement, SAFe dependency health,
back-loading and the SVG layout, on plain data with known answers."""

from datetime import date

import pytest

from programs import board
from programs.board import BoardFeature, BoardIteration, BoardMilestone

ITERATIONS = [
    BoardIteration(10, 1, date(2027, 1, 4), date(2027, 1, 15)),
    BoardIteration(11, 2, date(2027, 1, 18), date(2027, 1, 29)),
    BoardIteration(12, 3, date(2027, 2, 1), date(2027, 2, 12)),
    BoardIteration(13, 4, date(2027, 2, 15), date(2027, 2, 26)),
]
N = len(ITERATIONS)


def feature(fid, planned=None, forecast=None, *, has_forecast=None, done=False, team=1):
    if has_forecast is None:
        has_forecast = forecast is not None
    return BoardFeature(fid, team, f"F{fid}", planned, has_forecast, forecast, done)


@pytest.mark.parametrize(
    ("day", "index"),
    [
        (date(2027, 1, 4), 0),
        (date(2027, 1, 15), 0),
        (date(2027, 1, 16), 1),  # a weekend gap belongs to the next iteration
        (date(2027, 2, 26), 3),
        (date(2027, 3, 1), 4),  # after the PI
        (date(2026, 12, 1), 0),
        (None, None),
    ],
)
def test_a_day_falls_in_the_iteration_that_contains_it_or_follows_it(day, index):
    assert board.iteration_index(day, ITERATIONS) == index


def test_a_card_sits_in_its_forecast_p85_iteration_when_there_is_a_forecast():
    assert board.column(feature(1, planned=1, forecast=3), N) == 3
    assert board.column(feature(1, planned=3, forecast=0), N) == 0


def test_a_card_without_forecast_sits_in_its_planned_iteration_or_nowhere():
    assert board.column(feature(1, planned=2), N) == 2
    assert board.column(feature(1), N) is None


def test_a_forecast_after_the_last_iteration_or_never_reached_is_beyond_the_pi():
    assert board.column(feature(1, planned=1, forecast=7), N) == N
    assert board.column(feature(1, planned=1, has_forecast=True), N) == N
    assert board.index_label(N, ITERATIONS) == "after the PI"


def test_a_done_feature_stays_in_its_planned_iteration():
    assert board.column(feature(1, planned=2, forecast=3, done=True), N) == 2


@pytest.mark.parametrize(
    ("provider", "consumer", "health"),
    [
        (feature(1, planned=1, forecast=3), feature(2, planned=2), "red"),  # forecast later
        (feature(1, planned=3), feature(2, planned=2), "red"),  # planned later
        (feature(1), feature(2, planned=2), "red"),  # provider unplaced, consumer placed
        (feature(1, planned=1, has_forecast=True), feature(2, planned=3), "red"),  # never
        (feature(1, planned=1, forecast=2), feature(2, planned=2), "orange"),
        (feature(1, planned=2, forecast=1), feature(2, planned=2), "orange"),  # later of both
        (feature(1, planned=0, forecast=1), feature(2, planned=2), "green"),
        (feature(1, planned=3, forecast=3, done=True), feature(2, planned=1), "green"),
        (feature(1, planned=3), feature(2), "green"),  # consumer not planned
    ],
)
def test_dependency_health_compares_the_providers_later_date_with_the_consumers_plan(
    provider, consumer, health
):
    at = board.expected_index(provider, N)
    assert board.dependency_health(provider.done, at, consumer) == health


def test_dependencies_explain_their_colour_in_words_red_first():
    features = [feature(1, planned=1, forecast=3), feature(2, planned=2), feature(3, planned=3)]
    found = board.dependencies(features, [(2, 3), (1, 2), (1, 1), (9, 2)], ITERATIONS)
    assert [(d.provider_id, d.consumer_id, d.health) for d in found] == [
        (1, 2, "red"),
        (2, 3, "green"),
    ]
    assert found[0].reason == "provider finishes in I4 after consumer's I3"
    assert found[0].mark == "✕ late"
    assert found[1].reason == "provider finishes in I3, before consumer's I4"


@pytest.mark.parametrize(
    ("planned", "warning"),
    [
        ([2, 3], True),  # all in the last two
        ([0, 1, 2, 3], True),  # exactly half
        ([0, 1, 1, 3], False),  # one of four
        ([0, 1, 2, None, None], False),  # unplanned features do not count: 1 of 3
        ([], False),
    ],
)
def test_back_loading_warns_when_half_the_planned_features_sit_in_the_last_two(planned, warning):
    features = [feature(i, planned=p) for i, p in enumerate(planned)]
    assert board.back_loading(features, N).warning is warning


def test_back_loading_needs_three_iterations():
    features = [feature(1, planned=1), feature(2, planned=1)]
    assert board.back_loading(features, 2).warning is False
    assert board.back_loading(features, 3).warning is True


def test_layout_has_a_row_per_team_plus_milestones_and_a_column_per_iteration_plus_after():
    features = [
        feature(1, planned=0, team=1),
        feature(2, planned=0, team=1),
        feature(3, planned=1, forecast=9, team=2),
        feature(4, team=3),  # not placed, team not listed: row and column are added
    ]
    deps = board.dependencies(features, [(1, 3)], ITERATIONS)
    drawing = board.layout(
        ITERATIONS,
        [(1, "Labeling"), (2, "ML")],
        features,
        deps,
        [BoardMilestone(5, "Release", date(2027, 2, 26))],
    )
    assert [r.key for r in drawing.rows] == ["1", "2", "3", "milestones"]
    assert [c.label for c in drawing.columns] == [
        "I1",
        "I2",
        "I3",
        "I4",
        "After the PI",
        "Not placed",
    ]
    one, two = drawing.cards[1].box, drawing.cards[2].box
    assert one.x == two.x and two.y > one.y  # stacked in the same cell
    assert drawing.cards[3].box.x > drawing.columns[3].x  # beyond the PI
    assert drawing.rows[0].height > drawing.rows[1].height
    (line,) = drawing.lines
    assert line.health == "green" and line.path.startswith(f"M{one.x + one.width},")
    (mark,) = drawing.milestones
    assert mark.x == drawing.columns[3].x + drawing.columns[3].width  # end of I4


def test_only_the_providers_tickets_that_block_the_consumer_count_when_known():
    # The labeling feature as a whole ends in I3 (after the consumer's I2), but the one
    # batch the consumer needs is expected in I1: green, and the reason names the batch.
    labeling = feature(1, planned=2, forecast=2)
    squad = feature(2, planned=1)
    whole = board.dependencies([labeling, squad], [(1, 2)], ITERATIONS)
    assert whole[0].health == "red"
    part = board.provider_part([("LAB-6", False, 0), ("LAB-2", True, None)])
    assert part == board.ProviderPart(done=False, at=0, keys=("LAB-6",))
    (found,) = board.dependencies([labeling, squad], [(1, 2)], ITERATIONS, {(1, 2): part})
    assert found.health == "green" and found.provider_index == 0
    assert found.reason.endswith("(via LAB-6)")


def test_a_blocking_ticket_with_neither_a_sprint_nor_a_forecast_leaves_the_part_unplanned():
    assert board.ticket_expected_index(planned=None, forecast=None) is None
    assert board.ticket_expected_index(planned=1, forecast=3) == 3
    part = board.provider_part([("LAB-6", False, 1), ("LAB-7", False, None)])
    assert part.at is None and not part.done
    assert board.provider_part([("LAB-6", True, None)]).done
