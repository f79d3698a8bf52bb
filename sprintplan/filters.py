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


class _StrictNullBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else is an error instead of "no filter"."""

    ACCEPTED = ("true", "false", "True", "False", "1", "0", True, False)

    def clean(self, value):
        if value not in (None, "", *self.ACCEPTED):
            raise forms.ValidationError("Give true or false.", code="invalid")
        return super().clean(value)


class _RawBooleanWidget(django_filters.widgets.BooleanWidget):
    """Like django-filter's, but hands an unknown value on (to be refused), not None."""

    def value_from_datadict(self, data, files, name):
        value = super().value_from_datadict(data, files, name)
        raw = data.get(name)
        return raw if value is None and raw not in (None, "") else value


class BooleanFilter(django_filters.BooleanFilter):
    """?blocked=true|false; another value is a 400 naming the filter."""

    field_class = _StrictNullBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", _RawBooleanWidget)
        super().__init__(*args, **kwargs)


def valid_id(value) -> int | None:
    """`value` as a database id, or None when it is not one (e.g. ?sprint=x in a page)."""
    text = str(value or "").strip()
    if text.isdigit() and 0 < int(text) <= MAX_ID:
        return int(text)
    return None
