from datetime import datetime

from django import template
from django.utils import timezone

from sprintplan.health import is_overdue

register = template.Library()

FIELD_LABELS = {"blocked_by": "blocked by", "blocks": "blocks"}


@register.filter
def ago(moment: datetime | None) -> str:
    """'just now', '42 s ago', '3 min ago', '2 h ago', or a date: freshness at a glance."""
    if moment is None:
        return "never"
    seconds = int((timezone.now() - moment).total_seconds())
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return timezone.localtime(moment).strftime("%b %-d, %H:%M")


@register.filter
def overdue(pending_since: datetime | None) -> bool:
    """True when a change has waited too long for its derived data (HEALTH_DERIVED_MAX_AGE):
    the page then says the figures are stale, not that they are updating."""
    return is_overdue(pending_since)


@register.filter
def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " "))
