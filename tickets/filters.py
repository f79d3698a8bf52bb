"""One FilterSet for the ticket list, used by the API (and by pages as they grow)."""

import django_filters
from django import forms
from django.db.models import Q

from accounts.models import User
from sprintplan.filters import MAX_ID, BooleanFilter, IdFilter
from teams.models import Team

from .models import Ticket


class _RefField(forms.ModelChoiceField):
    """A row named by a readable reference (`ref_field`, e.g. a team's key prefix or a
    username) or by its numeric id; anything else is an error naming the filter."""

    def __init__(self, *args, ref_field: str, **kwargs):
        self.ref_field = ref_field
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        found = self.queryset.filter(**{f"{self.ref_field}__iexact": text}).first()
        if found is None and text.isdigit() and int(text) <= MAX_ID:
            found = self.queryset.filter(pk=int(text)).first()
        if found is None:
            raise forms.ValidationError(f"there is no {self.label or 'such row'} {text!r}.")
        return found


class RefFilter(django_filters.ModelChoiceFilter):
    field_class = _RefField


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label="Text in key, title or description")
    team = RefFilter(
        queryset=Team.objects.all(), ref_field="key_prefix", label="team", field_name="team"
    )
    team_prefix = django_filters.CharFilter(field_name="team__key_prefix", lookup_expr="iexact")
    sprint = IdFilter(field_name="sprint_id")
    unplanned = BooleanFilter(field_name="sprint", lookup_expr="isnull")
    status = django_filters.MultipleChoiceFilter(choices=Ticket.Status.choices)
    type = django_filters.MultipleChoiceFilter(choices=Ticket.Type.choices)
    assignee = RefFilter(
        queryset=User.objects.all(), ref_field="username", label="person", field_name="assignee"
    )
    blocked = BooleanFilter(field_name="insight__blocked")
    # Absent: archived tickets are left out (the API's list does that); true: only them.
    archived = BooleanFilter(field_name="archived_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Ticket
        fields = [
            "q",
            "team",
            "team_prefix",
            "sprint",
            "unplanned",
            "status",
            "type",
            "assignee",
            "blocked",
            "archived",
        ]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(key__iexact=value) | Q(title__icontains=value) | Q(description__icontains=value)
        )
