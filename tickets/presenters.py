"""Attach what a page shows about a ticket: what the user may edit, and its blocking chain."""

from accounts.policy import editable_ticket_fields

from .models import Ticket


def present_tickets(user, tickets, facts: dict) -> None:
    """`facts`: id -> BlockerFacts (or key) of every ticket named in the tickets' insights."""
    for ticket in tickets:
        present_ticket(user, ticket, facts)


def present_ticket(user, ticket, facts: dict) -> None:
    ticket.can = editable_ticket_fields(user, ticket)
    insight = getattr(ticket, "insight", None)
    ticket.is_blocked = is_blocked(ticket)
    direct = insight.direct_blocker_ids if insight else []
    roots = insight.root_blocker_ids if insight else []
    ticket.blocker_keys = [getattr(facts.get(i), "key", "?") for i in direct]
    ticket.root_keys = [getattr(facts.get(i), "key", "?") for i in roots]
    ticket.root_facts = [str(facts[i]) for i in roots if i in facts]


def is_blocked(ticket) -> bool:
    """Blocked: its insights say so and it is not finished (a done ticket waits on nothing)."""
    insight = getattr(ticket, "insight", None)
    return bool(insight and insight.blocked and not ticket.is_done)


# --- history in words -------------------------------------------------------------------------

_CHOICE_LABELS = {
    "status": dict(Ticket.Status.choices),
    "type": dict(Ticket.Type.choices),
}
_FIELD_NAMES = {
    "title": "Title",
    "description": "Description",
    "type": "Type",
    "status": "Status",
    "size": "Size",
    "progress": "Progress",
    "sprint": "Sprint",
    "parent": "Parent",
    "assignee": "Assignee",
    "blocked_by": "Blocked by",
    "blocks": "Blocks",
}


def value_words(field: str, value: str) -> str:
    """A stored value as a person reads it ("in_progress" -> "In progress")."""
    return _CHOICE_LABELS.get(field, {}).get(value, value)


def field_name(field: str) -> str:
    return _FIELD_NAMES.get(field, field.replace("_", " ").capitalize())


def history_sentence(field: str, old: str, new: str) -> str:
    """One history row as a person reads it: "Status: To do → In progress", "moved above
    LAB-3", "archived the ticket"."""
    if field == "created":
        return "created the ticket"
    if field == "archived":
        return "archived the ticket"
    if field == "restored":
        return "restored the ticket"
    if field == "rank":
        if new.startswith("above ") or new == "to the bottom":
            return f"moved {new} in the ranking"
        return "moved in the ranking"
    if field == "done_gate_override":
        return f"closed despite: {old} (reason: {new})"
    if field == "description":
        return "changed the description"
    labels = _CHOICE_LABELS.get(field, {})
    name = _FIELD_NAMES.get(field, field.replace("_", " ").capitalize())
    return f"{name}: {labels.get(old, old) or '—'} → {labels.get(new, new) or '—'}"
