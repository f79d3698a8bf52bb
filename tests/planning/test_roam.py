"""The ROAM rules shared by pre-mortem and program risks (planning/roam.py)."""

import pytest

from planning.roam import roam_problem

GIVEN_ALL = {"has_owner": True, "has_follow_up": True, "has_reason": True, "has_tickets": True}


@pytest.mark.parametrize("state", ["open", "resolved", "owned", "accepted", "mitigated"])
def test_every_state_may_be_set_when_everything_is_given(state):
    assert roam_problem(state, **GIVEN_ALL) is None


@pytest.mark.parametrize(
    ("state", "missing", "field"),
    [
        ("owned", "has_owner", "owner"),
        ("owned", "has_follow_up", "follow_up"),
        ("accepted", "has_reason", "note"),
        ("resolved", "has_reason", "note"),
        ("mitigated", "has_tickets", "tickets"),
    ],
)
def test_each_state_names_what_it_lacks(state, missing, field):
    message, named = roam_problem(state, **{**GIVEN_ALL, missing: False})
    assert named == field and message


def test_open_needs_nothing_and_an_unknown_state_is_refused():
    nothing = dict.fromkeys(GIVEN_ALL, False)
    assert roam_problem("open", **nothing) is None
    assert roam_problem("ignored", **GIVEN_ALL) == ("Unknown ROAM state 'ignored'.", "state")
