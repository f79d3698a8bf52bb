"""Database rules of the program level hold even for writes that bypass the services."""

import pytest
from django.db import IntegrityError, transaction

from programs.models import Objective, RaciActivity, RaciAssignment


def test_fixture_pi_has_three_numbered_iterations(program):
    assert [i.number for i in program.pi.iterations.all()] == [1, 2, 3]


def test_business_value_outside_one_to_ten_is_refused_by_the_database(program):
    with pytest.raises(IntegrityError), transaction.atomic():
        Objective.objects.create(pi=program.pi, team=program.ml, title="x", planned_value=11)


def test_a_second_accountable_for_one_activity_is_refused_by_the_database(program):
    activity = RaciActivity.objects.create(program=program.program, name="Model sign-off")
    RaciAssignment.objects.create(activity=activity, team=program.ml, letter="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        RaciAssignment.objects.create(activity=activity, role="product_owner", letter="A")
