"""One FilterSet for the ticket list, used by the API (and by pages as they grow)."""

import django_filters
from django.db.models import Q

from sprintplan.filters import BooleanFilter, IdFilter

from .models import Ticket


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label="Text in key, title or description")
    team = django_filters.CharFilter(method="filter_team", label="Team key prefix (or id)")
    team_prefix = django_filters.CharFilter(field_name="team__key_prefix", lookup_expr="iexact")
    sprint = IdFilter(field_name="sprint_id")
    unplanned = BooleanFilter(field_name="sprint", lookup_expr="isnull")
    status = django_filters.MultipleChoiceFilter(choices=Ticket.Status.choices)
    type = django_filters.MultipleChoiceFilter(choices=Ticket.Type.choices)
    assignee = django_filters.CharFilter(method="filter_assignee", label="Username (or id)")
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

    def filter_team(self, queryset, name, value):
        value = value.strip()
        by_key = Q(team__key_prefix__iexact=value)
        return queryset.filter(by_key | Q(team_id=int(value)) if value.isdigit() else by_key)

    def filter_assignee(self, queryset, name, value):
        value = value.strip()
        by_name = Q(assignee__username=value)
        return queryset.filter(by_name | Q(assignee_id=int(value)) if value.isdigit() else by_name)

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(key__iexact=value) | Q(title__icontains=value) | Q(description__icontains=value)
        )
