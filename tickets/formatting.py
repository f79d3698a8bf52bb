"""How a field value reads for people (history, conflict notices): pure, no queries."""

import re
from decimal import Decimal
from typing import Any

# "@ana.lopez" in a comment; not the middle of an email address (ana@example.com).
_MENTION = re.compile(r"(?<![\w@])@([\w.+-]*\w)")


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


def mentioned_usernames(text: str) -> list[str]:
    """Usernames named with @ in `text`, in order of first mention, each once."""
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)
