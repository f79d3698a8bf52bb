from django import template
from django.utils.safestring import mark_safe

from tickets.markdown import render

register = template.Library()


@register.filter
def markdown(text: str, usernames=None):
    """Markdown (descriptions, comments) as sanitized HTML (nh3 has cleaned it)."""
    return mark_safe(render(text, known_usernames=frozenset(usernames or ())))
