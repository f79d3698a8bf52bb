"""Attach what a page shows about a ticket: what the user may edit, and its blocking chain."""

from accounts.policy import editable_ticket_fields


def present_tickets(user, tickets, keys: dict[int, str]) -> None:
    for ticket in tickets:
        present_ticket(user, ticket, keys)


def present_ticket(user, ticket, keys: dict[int, str]) -> None:
    ticket.can = editable_ticket_fields(user, ticket)
    insight = getattr(ticket, "insight", None)
    ticket.is_blocked = bool(insight and insight.blocked and not ticket.is_done)
    ticket.blocker_keys = [keys.get(i, "?") for i in insight.direct_blocker_ids] if insight else []
    ticket.root_keys = [keys.get(i, "?") for i in insight.root_blocker_ids] if insight else []
