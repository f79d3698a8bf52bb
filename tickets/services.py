"""Every write to tickets goes through here: permission check, validation, gates, history,
and the word to sprintplan.derived that derived data is stale."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.models import User
from accounts.policy import (
    TICKET_FIELDS,
    ensure_can_archive_ticket,
    ensure_can_change_comment,
    ensure_can_comment,
    ensure_can_create_ticket,
    ensure_can_edit_ticket,
    ensure_can_import,
    ensure_can_override_done_gate,
)
from sprintplan import derived, events
from sprintplan.errors import Conflict, InvalidInput, StaleVersion
from sprintplan.row_reads import OneRowRead
from teams.models import Team

from .formatting import display_value, mentioned_usernames
from .models import Comment, Ticket, TicketEvent

RANK_STEP = 1024
# Fields whose change can alter the dependency graph's derived data.
GRAPH_FIELDS = frozenset({"status", "size", "progress", "sprint"})
FOREIGN_KEYS = frozenset({"sprint", "parent", "assignee"})


def ticket_create(
    *,
    actor,
    team: Team,
    title: str,
    type: str = Ticket.Type.TASK,
    description: str = "",
    size: Any = 0,
    progress: Any = 0,
    status: str = Ticket.Status.BACKLOG,
    sprint=None,
    parent=None,
    assignee=None,
    rank: int | None = None,
) -> Ticket:
    ensure_can_create_ticket(actor, team)
    values = {
        "title": title,
        "type": type,
        "description": description,
        "size": size,
        "progress": progress,
        "status": status,
        "sprint": sprint,
        "parent": parent,
        "assignee": assignee,
    }
    values = _validated(values, current=None)
    with transaction.atomic():
        number = _next_ticket_number(team)
        if rank is None:
            rank = (Ticket.objects.aggregate(top=Max("rank"))["top"] or 0) + RANK_STEP
        ticket = Ticket.objects.create(
            team=team, number=number, key=f"{team.key_prefix}-{number}", rank=rank, **values
        )
        TicketEvent.objects.create(ticket=ticket, actor=actor, field="created", new_value=title)
        derived.changed("ticket", [ticket.id])
    return ticket


def ticket_update(
    *,
    ticket: Ticket | None = None,
    key: str | None = None,
    actor,
    changes: dict[str, Any],
    expected_version: int,
    override_reason: str = "",
    read_with: tuple[str, ...] = (),
) -> Ticket:
    """Apply `changes` if the ticket is still at `expected_version`; else raise StaleVersion.

    Moving to done while unfinished work is upstream is refused (TicketBlocked), unless a
    Scrum master or Product Owner gives an `override_reason`, which history records.
    The ticket is `ticket`, or the one whose key is `key` (Ticket.DoesNotExist when there is
    none), so that a caller holding only the key reads it once, locked.
    `read_with`: relations to read along with the locked row, so that the caller can answer
    from the returned ticket without reading it again."""
    if (ticket is None) == (key is None):
        raise TypeError("ticket_update() takes exactly one of ticket= and key=.")
    unknown = sorted(set(changes) - TICKET_FIELDS)
    if unknown:
        raise InvalidInput(
            f"Unknown or read-only field: {', '.join(unknown)}.", code="unknown_field"
        )
    with transaction.atomic():
        current = _read_locked(ticket, key, read_with)
        if current.version != expected_version:
            raise StaleVersion(
                f"{current.key} was changed by someone else (you edited version "
                f"{expected_version}, it is now at version {current.version}).",
                current=current,
            )
        changed = _actual_changes(current, changes)
        if not changed:
            return current
        override_reason = (override_reason or "").strip()
        closing = changed.get("status") == Ticket.Status.DONE
        if override_reason:
            ensure_can_override_done_gate(actor)
        # An override lets the PO close a ticket although status is not a PO field.
        gate_fields = {"status", "progress"} if closing and override_reason else set()
        ensure_can_edit_ticket(actor, current, set(changed) - gate_fields)
        changed = _validated(changed, current=current)
        held_back = _gates(current, changed, override_reason)
        written_at = _write(current, changed, expected_version)
        _record_events(current, actor, changed)
        if held_back:
            _record_override(current, actor, held_back, override_reason)
        if GRAPH_FIELDS & changed.keys():
            derived.changed("ticket", [current.id])
        sprint_ids = {current.sprint_id, getattr(changed.get("sprint"), "pk", None)} - {None}
        if "sprint" in changed:  # the sprint it left no longer plans it
            derived.changed("sprint", sorted(sprint_ids))
        # After commit: the open pages of the sprints it was and is in (sprintplan.live).
        events.publish("ticket.changed", ticket_ids=[current.id], sprint_ids=sorted(sprint_ids))
    _hold_as_written(current, changed, version=expected_version + 1, updated_at=written_at)
    return current


# (by, relations) -> the locked read of one ticket with its team and those relations.
_LOCKED_READS: dict[tuple[str, tuple[str, ...]], OneRowRead] = {}


def _read_locked(ticket: Ticket | None, key: str | None, read_with: tuple[str, ...]) -> Ticket:
    """The ticket's row, locked (only its own row: locking its team's row too would make
    every edit of that team's tickets wait), with its team and `read_with`. The statement is
    built once per process; a PATCH spent more CPU compiling it than running it."""
    by = "id" if ticket is not None else "key"
    reader = _LOCKED_READS.get((by, read_with))
    if reader is None:
        reader = OneRowRead(Ticket, by=by, relations=("team", *read_with), lock=True)
        _LOCKED_READS[(by, read_with)] = reader
    return reader.read(ticket.pk if ticket is not None else key)


STARTED = frozenset({Ticket.Status.IN_PROGRESS, Ticket.Status.IN_REVIEW, Ticket.Status.DONE})


@dataclass(frozen=True)
class Hold:
    """What a gate holds back: the refusal, and what an override lets through (history)."""

    refusal: Conflict
    held_back: list[str]


# A gate looks at the ticket as it is and the status asked for; None lets it pass.
StatusGate = Callable[[Ticket, str], Hold | None]
_STATUS_GATES: list[tuple[int, StatusGate]] = []


def register_status_gate(gate: StatusGate, *, order: int) -> None:
    """Apps above tickets (dependencies: unfinished work upstream; quality: the Definition of
    Done) hold status changes back through gates they register in `AppConfig.ready`.
    `order`: gates are asked in this order, so the first refusal is the most telling."""
    if all(known is not gate for _, known in _STATUS_GATES):
        _STATUS_GATES.append((order, gate))
        _STATUS_GATES.sort(key=lambda item: item[0])


def _gates(current: Ticket, changed: dict[str, Any], override_reason: str) -> list[str]:
    """Refuse a status change a gate holds back, unless overridden; return what the
    override let through (for history)."""
    new_status = changed.get("status")
    held_back: list[str] = []
    if new_status is None:
        return held_back
    for _, gate in _STATUS_GATES:
        hold = gate(current, new_status)
        if hold is None:
            continue
        if not override_reason:
            raise hold.refusal
        held_back += hold.held_back
    return held_back


def is_starting(ticket: Ticket, new_status: str) -> bool:
    return new_status in STARTED and ticket.status not in STARTED


class GateFailed(Conflict):
    """A Definition of Done (or entry) criterion holds the status change back."""

    def __init__(self, ticket: Ticket, code: str, verb: str, failures: list[str]) -> None:
        super().__init__(
            f"{ticket.key} {verb} yet: {' '.join(failures)}",
            code=code,
            field="status",
            extra={"failures": failures},
        )


class TicketBlocked(Conflict):
    """Done was refused: unfinished tickets are upstream."""

    code = "blocked"

    def __init__(self, ticket: Ticket, blocker_keys: list[str]) -> None:
        shown = ", ".join(blocker_keys[:10])
        more = f" and {len(blocker_keys) - 10} more" if len(blocker_keys) > 10 else ""
        super().__init__(
            f"{ticket.key} cannot be done while it waits on unfinished work: {shown}{more}.",
            field="status",
            extra={"blockers": blocker_keys},
        )


def ticket_events_record(*, actor, events: list[tuple[Ticket | int, str, str, str]]) -> None:
    """History written on a ticket's behalf by another app (e.g. a link added to it):
    (ticket or its id, field, old value, new value) each."""
    now = timezone.now()
    TicketEvent.objects.bulk_create(
        (
            TicketEvent(
                ticket_id=getattr(ticket, "pk", ticket),
                actor=actor,
                at=now,
                field=field,
                old_value=old,
                new_value=new,
            )
            for ticket, field, old, new in events
        ),
        batch_size=2000,
    )


def _record_override(ticket: Ticket, actor, held_back: list[str], reason: str) -> None:
    TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        field="done_gate_override",
        old_value="; ".join(held_back),
        new_value=reason,
    )


def _next_ticket_number(team: Team) -> int:
    # The UPDATE takes the row lock (PostgreSQL) / write lock (SQLite) before we read,
    # so two concurrent creates can never get the same number.
    Team.objects.filter(pk=team.pk).update(next_ticket_number=F("next_ticket_number") + 1)
    return Team.objects.values_list("next_ticket_number", flat=True).get(pk=team.pk) - 1


def _actual_changes(current: Ticket, changes: dict[str, Any]) -> dict[str, Any]:
    changed = {}
    for field, value in changes.items():
        old = getattr(current, f"{field}_id") if field in FOREIGN_KEYS else getattr(current, field)
        new = value.pk if field in FOREIGN_KEYS and value is not None else value
        if field in {"size", "progress"}:
            new = _decimal(field, value)
        if old != new:
            changed[field] = value
    # Finishing a ticket completes its progress unless the caller set progress itself.
    if changed.get("status") == Ticket.Status.DONE and "progress" not in changed:
        size = _decimal("size", changed.get("size", current.size))
        if current.progress != size:
            changed["progress"] = size
    return changed


def _decimal(field: str, value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput(f"{field} must be a number, got {value!r}.", field=field) from None
    if not number.is_finite():
        raise InvalidInput(f"{field} must be a finite number.", field=field)
    # Rounded as the database stores it (half away from zero, as PostgreSQL's numeric does),
    # so a ticket in memory after a write holds what a re-read would.
    places = Decimal(1).scaleb(-Ticket._meta.get_field(field).decimal_places)
    return number.quantize(places, rounding=ROUND_HALF_UP)


def _validated(values: dict[str, Any], *, current: Ticket | None) -> dict[str, Any]:
    """Check a set of new values against each other and the ticket's current state."""
    values = dict(values)
    if "title" in values:
        values["title"] = (values["title"] or "").strip()
        if not values["title"]:
            raise InvalidInput("Title must not be empty.", field="title")
    for field in ("size", "progress"):
        if field in values:
            values[field] = _decimal(field, values[field])
            if values[field] < 0:
                raise InvalidInput(f"{field} must be 0 or more, got {values[field]}.", field=field)
    size = values.get("size", current.size if current else Decimal(0))
    progress = values.get("progress", current.progress if current else Decimal(0))
    if progress > size:
        raise InvalidInput(
            f"Progress {display_value(progress)} exceeds the size {display_value(size)}.",
            field="progress",
        )
    if "status" in values and values["status"] not in Ticket.Status.values:
        raise InvalidInput(f"Unknown status {values['status']!r}.", field="status")
    if "type" in values and values["type"] not in Ticket.Type.values:
        raise InvalidInput(f"Unknown type {values['type']!r}.", field="type")
    if values.get("parent") is not None and current is not None:
        _check_parent(current, values["parent"])
    return values


def _check_parent(ticket: Ticket, parent: Ticket) -> None:
    seen = {ticket.pk}
    node: Ticket | None = parent
    while node is not None:
        if node.pk in seen:
            raise InvalidInput(
                f"{parent.key} cannot be the parent of {ticket.key}: that would make a loop.",
                field="parent",
            )
        seen.add(node.pk)
        node = node.parent
    return None


def _write(current: Ticket, changed: dict[str, Any], expected_version: int):
    """Store `changed` if the ticket is still at `expected_version`; return the time written."""
    now = timezone.now()
    rows = Ticket.objects.filter(pk=current.pk, version=expected_version).update(
        **changed, version=expected_version + 1, updated_at=now
    )
    if rows != 1:  # the conditional UPDATE is the real guard on databases without row locks
        raise StaleVersion(f"{current.key} was changed by someone else.", current=current)
    return now


def _hold_as_written(current: Ticket, changed: dict[str, Any], *, version: int, updated_at):
    """Give the locked instance the values the UPDATE stored (validated, rounded as stored),
    instead of reading the row again after commit."""
    for field, value in changed.items():
        setattr(current, field, value)
    current.version = version
    current.updated_at = updated_at


def _record_events(current: Ticket, actor, changed: dict[str, Any]) -> None:
    now = timezone.now()
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket=current,
            actor=actor,
            at=now,
            field=field,
            old_value=display_value(getattr(current, field)),
            new_value=display_value(value),
        )
        for field, value in changed.items()
    )


def ticket_move_in_ranking(*, ticket: Ticket, actor, before: Ticket | None, expected_version: int):
    """Place `ticket` just above `before` in the backlog ranking (at the bottom when None).

    Ranks are integers with gaps; the new rank is the midpoint of the neighbours. When no
    gap is left the ranking is renumbered first (order kept, no history: it is bookkeeping).
    """
    if before is not None and before.pk == ticket.pk:
        return ticket
    ranks = Ticket.objects.order_by("rank", "id")
    if before is None:
        top = ranks.exclude(pk=ticket.pk).values_list("rank", flat=True).last() or 0
        new_rank = top + RANK_STEP
    else:
        above = (
            ranks.exclude(pk=ticket.pk)
            .filter(rank__lt=before.rank)
            .values_list("rank", flat=True)
            .last()
        )
        low = above if above is not None else before.rank - 2 * RANK_STEP
        if before.rank - low < 2:
            _renumber_ranks()
            before.refresh_from_db()
            return ticket_move_in_ranking(
                ticket=ticket, actor=actor, before=before, expected_version=expected_version
            )
        new_rank = (low + before.rank) // 2
    with transaction.atomic():
        moved = ticket_update(
            ticket=ticket,
            actor=actor,
            changes={"rank": new_rank},
            expected_version=expected_version,
        )
        # History says where it went in words, not the rank's bookkeeping numbers.
        TicketEvent.objects.filter(
            ticket=moved, field="rank", new_value=display_value(new_rank)
        ).update(old_value="", new_value=f"above {before.key}" if before else "to the bottom")
    return moved


# One statement, order kept (PostgreSQL, and SQLite >= 3.33 for UPDATE ... FROM).
_RENUMBER_RANKS_SQL = """
UPDATE tickets_ticket SET rank = ordered.position * %s
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY rank, id) AS position FROM tickets_ticket)
    AS ordered
WHERE tickets_ticket.id = ordered.id
"""


def _renumber_ranks() -> None:
    with connection.cursor() as cursor:
        cursor.execute(_RENUMBER_RANKS_SQL, [RANK_STEP])


# --- imports (Jira and Sprintplan JSON) --------------------------------------------------------

IMPORT_FIELDS = frozenset(
    {"title", "description", "type", "status", "size", "progress", "sprint", "parent", "assignee"}
)


def tickets_import(
    *, actor, team: Team, creates: list[dict[str, Any]], updates: list[tuple[int, dict[str, Any]]]
) -> list[int]:
    """Write a batch of tickets coming from another tool, in one transaction.

    The other tool is the record of what happened, so its values are taken as they are: no
    done gate (the work was closed there), no optimistic-version check. Values are validated
    like any other write. History is not written here: the importer brings the tool's own
    history with its original timestamps (`ticket_history_import`); an update leaves one
    "imported" event naming the fields it changed. Returns the ids of the created tickets,
    in order."""
    ensure_can_import(actor)
    creates = [_validated(_import_values(values), current=None) for values in creates]
    with transaction.atomic():
        created = _import_creates(team, creates)
        changed_ids = _import_updates(actor, updates)
        derived.changed("ticket", [t.id for t in created] + changed_ids)
    return [t.id for t in created]


def _import_values(values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - IMPORT_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", code="unknown_field")
    return values


def _import_creates(team: Team, creates: list[dict[str, Any]]) -> list[Ticket]:
    if not creates:
        return []
    count = len(creates)
    Team.objects.filter(pk=team.pk).update(next_ticket_number=F("next_ticket_number") + count)
    first = Team.objects.values_list("next_ticket_number", flat=True).get(pk=team.pk) - count
    top = Ticket.objects.aggregate(top=Max("rank"))["top"] or 0
    tickets = [
        Ticket(
            team=team,
            number=first + i,
            key=f"{team.key_prefix}-{first + i}",
            rank=top + RANK_STEP * (i + 1),
            **values,
        )
        for i, values in enumerate(creates)
    ]
    return Ticket.objects.bulk_create(tickets, batch_size=500)


def _import_updates(actor, updates: list[tuple[int, dict[str, Any]]]) -> list[int]:
    if not updates:
        return []
    current = Ticket.objects.select_related("team").in_bulk([pk for pk, _ in updates])
    changed_ids, events = [], []
    now = timezone.now()
    for pk, values in updates:
        ticket = current[pk]
        changed = {
            f: v
            for f, v in _validated(_import_values(values), current=ticket).items()
            if _stored(ticket, f) != _stored_value(f, v)
        }
        if not changed:
            continue
        Ticket.objects.filter(pk=pk).update(**changed, version=F("version") + 1, updated_at=now)
        events.append(
            TicketEvent(
                ticket_id=pk,
                actor=actor,
                at=now,
                field="imported",
                new_value=", ".join(sorted(changed)),
            )
        )
        changed_ids.append(pk)
    TicketEvent.objects.bulk_create(events)
    return changed_ids


def _stored(ticket: Ticket, field: str) -> Any:
    return getattr(ticket, f"{field}_id") if field in FOREIGN_KEYS else getattr(ticket, field)


def _stored_value(field: str, value: Any) -> Any:
    if field in FOREIGN_KEYS:
        return getattr(value, "pk", value)
    return value


def ticket_history_import(*, actor, events: list[dict[str, Any]]) -> int:
    """Append history brought from another tool, with its original timestamps (so the
    throughput history and the forecast have data from day one). Each event names
    `ticket_id, at, field, old_value, new_value`; values are already words."""
    ensure_can_import(actor)
    rows = [
        TicketEvent(
            ticket_id=e["ticket_id"],
            actor=None,
            at=e["at"],
            field=e["field"][:40],
            old_value=e.get("old_value", ""),
            new_value=e.get("new_value", ""),
        )
        for e in events
    ]
    with transaction.atomic():
        TicketEvent.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


# --- archive, restore, delete -------------------------------------------------------------


def ticket_archive(*, actor, ticket: Ticket, expected_version: int) -> Ticket:
    """Take a ticket out of boards, the backlog and forecasts, keeping its key and history.
    It leaves its sprint (history says which); the graph counts it as finished, so what it
    blocked is recomputed."""
    return _set_archived(actor=actor, ticket=ticket, expected_version=expected_version, on=True)


def ticket_restore(*, actor, ticket: Ticket, expected_version: int) -> Ticket:
    """Bring an archived ticket back: into the sprint it left if that is still open, else
    into the backlog."""
    return _set_archived(actor=actor, ticket=ticket, expected_version=expected_version, on=False)


def _set_archived(*, actor, ticket: Ticket, expected_version: int, on: bool) -> Ticket:
    ensure_can_archive_ticket(actor, ticket)
    with transaction.atomic():
        current = (
            Ticket.objects.select_for_update(of=("self",))  # sprints are joined nullable
            .select_related("sprint", "archived_from_sprint")
            .get(pk=ticket.pk)
        )
        if current.version != expected_version:
            raise StaleVersion(
                f"{current.key} was changed by someone else (you saw version "
                f"{expected_version}, it is now at version {current.version}).",
                current=current,
            )
        if current.is_archived == on:
            verb = "archived" if on else "not archived"
            raise Conflict(f"{current.key} is {verb} already.", code="archived", field="archived")
        changed: dict[str, Any] = {"archived_at": timezone.now() if on else None}
        if on:
            changed["archived_from_sprint"] = current.sprint
            if current.sprint_id:
                changed["sprint"] = None
        else:
            changed["archived_from_sprint"] = None
            back = current.archived_from_sprint
            if back is not None and back.state != back.State.CLOSED:
                changed["sprint"] = back  # back where it was, while that sprint is open
        _write(current, changed, expected_version)
        events_ = [(current, "archived" if on else "restored", "", "")]
        if "sprint" in changed:
            new = changed["sprint"]
            events_.append((current, "sprint", display_value(current.sprint), display_value(new)))
        ticket_events_record(actor=actor, events=events_)
        derived.changed("ticket", [current.pk])
        sprints = {current.sprint_id, getattr(changed.get("sprint"), "pk", None)} - {None}
        if sprints:
            derived.changed("sprint", sorted(sprints))
    current.refresh_from_db()
    return current


def ticket_delete(*, actor, ticket: Ticket) -> None:
    """Delete for good (people archive instead; the admin is read-only). Before the row goes, the
    apps deriving data from its links hear "ticket_removed" so they can mark its neighbours
    stale at once rather than at the next full recompute."""
    ensure_can_archive_ticket(actor, ticket)
    with transaction.atomic():
        derived.changed("ticket_removed", [ticket.pk])
        derived.changed("ticket", [ticket.pk])
        if ticket.sprint_id:
            derived.changed("sprint", [ticket.sprint_id])
        Ticket.objects.filter(pk=ticket.pk).delete()


# --- comments -------------------------------------------------------------------------------

COMMENT_MAX = 10_000


def comment_create(*, actor, ticket: Ticket, body: str) -> Comment:
    ensure_can_comment(actor)
    body = _comment_body(body)
    with transaction.atomic():
        comment = Comment.objects.create(ticket=ticket, author=actor, body=body)
        mentioned = _resolve_mentions(body)
        comment.mentions.set(mentioned)
        _announce_mentions(comment, actor, [u.pk for u in mentioned])
    return comment


def comment_update(*, actor, comment: Comment, body: str) -> Comment:
    """Edit one's own comment. Only people newly mentioned by the edit are announced."""
    ensure_can_change_comment(actor, comment)
    body = _comment_body(body)
    with transaction.atomic():
        before = set(comment.mentions.values_list("pk", flat=True))
        comment.body = body
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        mentioned = _resolve_mentions(body)
        comment.mentions.set(mentioned)
        _announce_mentions(comment, actor, [u.pk for u in mentioned if u.pk not in before])
    return comment


def comment_delete(*, actor, comment: Comment) -> None:
    ensure_can_change_comment(actor, comment)
    Comment.objects.filter(pk=comment.pk).delete()


def _comment_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise InvalidInput("Write something first: the comment is empty.", field="body")
    if len(body) > COMMENT_MAX:
        raise InvalidInput(f"A comment holds at most {COMMENT_MAX} characters.", field="body")
    return body


def _resolve_mentions(body: str) -> list[User]:
    names = mentioned_usernames(body)
    if not names:
        return []
    return list(User.objects.filter(username__in=names, is_active=True))


def _announce_mentions(comment: Comment, actor, user_ids: list[int]) -> None:
    user_ids = sorted(uid for uid in user_ids if uid != actor.pk)
    if user_ids:
        events.publish(
            "ticket.mentioned",
            ticket_id=comment.ticket_id,
            comment_id=comment.pk,
            actor_id=actor.pk,
            user_ids=user_ids,
        )
