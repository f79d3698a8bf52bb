import pytest

from . import scenario_one


@pytest.fixture
def one(scenario):
    return scenario_one.build(scenario)
