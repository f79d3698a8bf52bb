"""Reads of sprints that several floors share."""

from .models import Sprint


def next_open_sprint(sprint: Sprint) -> Sprint | None:
    """The sprint after this one that is not closed yet."""
    return (
        Sprint.objects.exclude(state=Sprint.State.CLOSED)
        .filter(start_date__gt=sprint.start_date)
        .order_by("start_date", "id")
        .first()
    )
