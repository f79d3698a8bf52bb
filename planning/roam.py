"""The ROAM rules (SAFe) a risk's state must satisfy, shared by the sprint pre-mortem risks
and the program risks. Pure: the services say what the user gave, this says what is missing.

Resolved and Accepted need a reason (how it was resolved, why it is accepted); Owned needs an
owner and a follow-up date; Mitigated names the tickets that mitigate it."""

STATES = ("open", "resolved", "owned", "accepted", "mitigated")


def roam_problem(
    state: str,
    *,
    has_owner: bool,
    has_follow_up: bool,
    has_reason: bool,
    has_tickets: bool,
    tickets_field: str = "tickets",
) -> tuple[str, str] | None:
    """(message, field) of the first rule the state breaks, or None when it may be set."""
    if state not in STATES:
        return f"Unknown ROAM state {state!r}.", "state"
    if state == "owned" and not (has_owner and has_follow_up):
        field = "follow_up" if has_owner else "owner"
        return "An owned risk needs an owner and a follow-up date.", field
    if state in ("accepted", "resolved") and not has_reason:
        return "Say why it is accepted, or how it was resolved.", "note"
    if state == "mitigated" and not has_tickets:
        return "A mitigated risk names the tickets that mitigate it.", tickets_field
    return None
