"""Attach what a page shows about a ticket: what the user may edit, and its blocking chain."""

from accounts.policy import editable_ticket_fields


def present_tickets(user, tickets, facts: dict) -> None:
    """`facts`: id -> BlockerFacts (or key) of every ticket named in the tickets' insights."""
    for ticket in tickets:
        present_ticket(user, ticket, facts)


def present_ticket(user, ticket, facts: dict) -> None:
    ticket.can = editable_ticket_fields(user, ticket)
    insight = getattr(ticket, "insight", None)
    ticket.is_blocked = bool(insight and insight.blocked and not ticket.is_done)
    direct = insight.direct_blocker_ids if insight else []
    roots = insight.root_blocker_ids if insight else []
    ticket.blocker_keys = [getattr(facts.get(i), "key", "?") for i in direct]
    ticket.root_keys = [getattr(facts.get(i), "key", "?") for i in roots]
    ticket.root_facts = [str(facts[i]) for i in roots if i in facts]
