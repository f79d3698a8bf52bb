"""Length limits of the free-text fields people type, shared by models, forms and the API.
Kept in the core so that every layer (and the database, through check constraints) agrees."""

from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

SHORT_TEXT_MAX = 200  # names, titles, keys, codes: any API text field without its own limit
DESCRIPTION_MAX = 10_000  # ticket, feature, program and risk descriptions
NOTE_MAX = 2_000  # notes on a Definition of Done version or a risk
GOAL_TEXT_MAX = 500  # one sprint goal
DECISION_TEXT_MAX = 10_000  # an architecture decision's context, decision and consequences


def max_length_constraint(model_name: str, field: str, limit: int) -> models.CheckConstraint:
    """The database's own guard for a TextField's limit (forms and serializers check first)."""
    return models.CheckConstraint(
        condition=LessThanOrEqual(Length(field), limit),
        name=f"{model_name}_{field}_max_length",
        violation_error_message=f"{field} is longer than {limit} characters.",
    )
