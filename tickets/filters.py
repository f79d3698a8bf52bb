"""One FilterSet for the ticket list, used by the API (and by pages as they grow)."""

import django_filters
from django.db.models import Q

from sprintplan.filters import BooleanFilter, IdFilter

from .models import Ticket


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label="Text in key, title or description")
    team = IdFilter(field_name="team_id")
    team_prefix = django_filters.CharFilter(field_name="team__key_prefix", lookup_expr="iexact")
    sprint = IdFilter(field_name="sprint_id")
    unplanned = BooleanFilter(field_name="sprint", lookup_expr="isnull")
    status = django_filters.MultipleChoiceFilter(choices=Ticket.Status.choices)
    type = django_filters.MultipleChoiceFilter(choices=Ticket.Type.choices)
    assignee = IdFilter(field_name="assignee_id")
    blocked = BooleanFilter(field_name="insight__blocked")

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
        ]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(key__iexact=value) | Q(title__icontains=value) | Q(description__icontains=value)
        )
