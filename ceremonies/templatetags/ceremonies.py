"""How the ceremonies' numbers read: chances as percentages, durations in days."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def percent(share) -> str:
    if share is None or share == "":
        return "—"
    return f"{round(float(share) * 100)} %"


@register.filter
def days(value) -> str:
    if value is None:
        return "—"
    value = float(value)
    if value < 1:
        hours = round(value * 24)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    rounded = round(value, 1)
    text = f"{rounded:g}"
    return f"{text} day{'s' if rounded != 1 else ''}"


@register.filter
def amount(value) -> str:
    """Whole numbers without decimals, others with at most two."""
    if value is None:
        return "—"
    number = Decimal(value).quantize(Decimal("0.01")).normalize()
    return f"{number:f}"


@register.filter
def signed(value) -> str:
    number = amount(value)
    return number if number.startswith("-") or number == "—" else f"+{number}"


@register.filter
def get_item(mapping, key):
    return mapping.get(key, []) if hasattr(mapping, "get") else []
