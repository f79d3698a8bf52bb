"""How a feature's plan and forecast read on the board: later is a slip, earlier is not."""

from programs.selectors.board import FeatureRow


def row(planned, forecast) -> FeatureRow:
    label = {0: "I1", 1: "I2", 2: "I3"}
    return FeatureRow(
        id=1,
        title="Ranking model v1",
        team_id=1,
        team_name="Ranking squad",
        team_key="RNK",
        version=1,
        rank=0,
        planned_sprint_id=10 + planned,
        planned_index=planned,
        planned_label=label[planned],
        milestone=None,
        ticket_keys=["RNK-1"],
        ticket_count=1,
        done_count=0,
        has_forecast=True,
        forecast_index=forecast,
        forecast_label=label[forecast],
    )


def test_a_forecast_later_than_planned_is_a_slip():
    late = row(planned=1, forecast=2)
    assert late.slipped and not late.ahead
    assert late.card_note == "I2 → I3"


def test_a_forecast_earlier_than_planned_is_ahead_not_a_slip():
    early = row(planned=1, forecast=0)
    assert early.ahead and not early.slipped
    assert early.card_note == "plan I2, ahead: I1"


def test_a_forecast_in_the_planned_iteration_is_neither():
    on_time = row(planned=1, forecast=1)
    assert not (on_time.ahead or on_time.slipped)
    assert on_time.card_note == "plan I2"
