"""Filter pieces shared by the apps' FilterSets."""

import django_filters
from django import forms

# Largest value a 64-bit database id can hold: a filter on a bigger number is a 400 naming
# the filter, never a database overflow.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An integer id (?team=3): whole numbers from 1 to MAX_ID only."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def valid_id(value) -> int | None:
    """`value` as a database id, or None when it is not one (e.g. ?sprint=x in a page)."""
    text = str(value or "").strip()
    if text.isdigit() and 0 < int(text) <= MAX_ID:
        return int(text)
    return None
