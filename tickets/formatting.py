"""How a field value reads for people (history, conflict notices): pure, no queries."""

from decimal import Decimal
from typing import Any


def display_value(value: Any) -> str:
    """Keys and usernames for related rows, whole numbers without '.00', '' for nothing."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if hasattr(value, "key"):
        return value.key
    if hasattr(value, "get_username"):
        return value.get_username()
    return str(value)
