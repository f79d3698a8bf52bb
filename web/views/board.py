"""The team board: a team's tickets of one sprint as a kanban, edited in place.

Each action parses input, calls a service, and renders the page or, for htmx requests, the
named partial it changed: the card after an edit that leaves it where it is, the whole board
body after a move (cards change columns, counts and WIP marks change)."""

import json
import zlib
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from accounts.models import User
from accounts.policy import can_change_capacity, can_create_ticket, can_override_done_gate
from planning import options_services
from planning import services as planning_services
from planning.calendar_selectors import over_allocations
from planning.models import CapacityAdjustment
from planning.selectors import current_sprint, sprint_change_token
from sprintplan import pages
from sprints.models import Sprint
from teams import selectors as team_selectors
from teams import services
from teams.models import Team
from tickets import services as ticket_services
from tickets.formatting import display_value
from tickets.models import Ticket
from tickets.presenters import present_tickets
from web.forms.board import AdjustmentForm
from web.selectors import board as selectors
from web.selectors.tickets import blocker_facts, ticket_queryset

TEMPLATE = "teams/board.html"
BODY = f"{TEMPLATE}#board-body"
CARD = f"{TEMPLATE}#board-card"
CARD_FIELDS = ("status", "progress", "size", "assignee")
OVERALLOCATION_WEEKS = 6
FIELD_LABELS = {"status": "Status", "progress": "Progress", "size": "Size", "assignee": "Assignee"}
# Refusals of a move to done that the Scrum master or Product Owner may override with a reason.
OVERRIDABLE = {"blocked", "done_gate"}


class CardForm(forms.Form):
    """What a card sends: the version it showed, the column it sat in, and the changes."""

    version = forms.IntegerField()
    column = forms.ChoiceField(choices=Ticket.Status.choices, required=False)
    status = forms.ChoiceField(choices=Ticket.Status.choices, required=False)
    # Sign and bounds are the service's to judge, so its message is the one shown.
    progress = forms.DecimalField(max_digits=12, decimal_places=2, required=False)
    size = forms.DecimalField(max_digits=12, decimal_places=2, required=False)
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    # "Close anyway": who may is the service's to judge (a member's forged reason gets 403).
    override_reason = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(memberships__team=team)

    def changes(self) -> dict:
        """The fields sent; an empty assignee means "unassign", an empty number "unchanged"."""
        changes = {}
        for name in CARD_FIELDS:
            if name not in self.data:
                continue
            value = self.cleaned_data[name]
            if name == "assignee" or value not in (None, ""):
                changes[name] = value
        return changes


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _team(prefix: str) -> Team:
    team = team_selectors.team_by_prefix(prefix)
    if team is None:
        raise Http404(f"team {prefix}")
    return team


def _params(request, team: Team | None = None) -> tuple[Sprint | None, str | None]:
    """The board's sprint (?sprint=<id>, else the team's current one) and swimlanes."""
    lanes = "assignee" if request.GET.get("lanes") == "assignee" else None
    raw = request.GET.get("sprint")
    if not raw:
        return current_sprint([team.pk] if team else None), lanes
    if not raw.isdigit():
        raise Http404(f"sprint {raw}")
    return get_object_or_404(Sprint, pk=int(raw)), lanes


def _query(sprint, lanes) -> str:
    params = {"sprint": sprint.pk} if sprint else {}
    if lanes:
        params["lanes"] = lanes
    return urlencode(params)


def _change_token(team: Team, sprint: Sprint) -> str:
    """The sprint page's token plus the team's WIP limits (another lead may change them)."""
    limits = json.dumps(team.wip_limits or {}, sort_keys=True).encode()
    return f"{sprint_change_token(sprint)}.{zlib.crc32(limits)}"


def _present(request, tickets) -> None:
    present_tickets(request.user, tickets, blocker_facts(tickets))
    may_override = can_override_done_gate(request.user)
    for ticket in tickets:
        ticket.can_edit_card = bool(ticket.can & {"progress", "size", "assignee"})
        ticket.may_override = may_override and ticket.status != Ticket.Status.DONE


def _board_context(request, team, sprint, lanes, *, notice=None, **extra) -> dict:
    """`notice`: (ticket key, {"error"|"conflict": ...}) to show on that card."""
    change_token = _change_token(team, sprint) if sprint else ""  # read first
    board = selectors.team_board(team, sprint, lanes=lanes)
    _present(request, board.tickets)
    if notice:
        key, facts = notice
        for ticket in board.tickets:
            if ticket.key == key:
                for name, value in facts.items():
                    setattr(ticket, name, value)
    may_set_wip = services.can_set_wip_limits(request.user, team)
    extra.setdefault("may_quick_add", can_create_ticket(request.user, team.pk))
    typed = extra.pop("wip_typed", None)
    limits = team.wip_limits or {}
    wip_fields = [
        {
            "status": status,
            "label": label,
            "value": typed.get(status, "") if typed is not None else limits.get(status, ""),
        }
        for status, label in services.WIP_STATUSES.items()
    ]
    may_adjust = can_change_capacity(request.user, team.pk)
    if "adjust_form" not in extra:
        extra["adjust_form"] = AdjustmentForm(initial=_adjust_initial(sprint))
    return {
        "team": team,
        "sprint": sprint,
        "lanes": lanes,
        "board": board,
        "members": board.members,
        "board_query": _query(sprint, lanes),
        "change_token": change_token,
        "may_set_wip": may_set_wip,
        "wip_fields": wip_fields,
        "capacity": selectors.board_capacity(team, sprint) if sprint else None,
        "overallocation": _overallocation(team, sprint),
        "may_adjust": may_adjust,
        **extra,
    }


def _overallocation(team, sprint):
    """The team's over-allocated weeks from the sprint's start (or this week) for six weeks:
    every sprint and PI iteration that shares the team counts."""
    start = sprint.start_date if sprint else timezone.localdate()
    return over_allocations([team.pk], start, start + timedelta(weeks=OVERALLOCATION_WEEKS))


def _adjust_initial(sprint) -> dict:
    """From today (inside the sprint) to the sprint's end: the usual "from now on" change."""
    if sprint is None:
        return {}
    today = planning_services.forecast_today()
    start = min(max(today, sprint.start_date), sprint.end_date)
    return {"from_date": start.isoformat(), "to_date": sprint.end_date.isoformat()}


def _board_url(team: Team, sprint, lanes) -> str:
    query = _query(sprint, lanes)
    return reverse("team-board", args=[team.key_prefix]) + (f"?{query}" if query else "")


# --- pages ------------------------------------------------------------------------------------


@require_GET
def team_board(request, prefix: str):
    try:
        team = _team(prefix)
        sprint, lanes = _params(request, team)
    except Http404 as exc:
        return render(request, "404.html", {"what": str(exc)}, status=404)
    context = _board_context(request, team, sprint, lanes)
    context["sprints"] = selectors.sprint_choices()
    return render(request, TEMPLATE, context)


@require_GET
def team_board_live(request, prefix: str):
    """204 when nothing changed since `since`; else the refreshed board body."""
    team = _team(prefix)
    sprint, lanes = _params(request, team)
    if sprint is None or request.GET.get("since") == _change_token(team, sprint):
        return HttpResponse(status=204)
    return render(request, BODY, _board_context(request, team, sprint, lanes))


# --- writes -----------------------------------------------------------------------------------


@require_POST
def board_card(request, prefix: str, key: str):
    """Move a card or edit its progress, size or assignee."""
    team = _team(prefix)
    sprint, lanes = _params(request, team)
    ticket = get_object_or_404(ticket_queryset(), key=key, team=team)
    form = CardForm(request.POST, team=team)
    status, notice, updated = 200, None, None
    if form.is_valid():
        changes = form.changes()
        reason = form.cleaned_data["override_reason"].strip()
        updated, error = pages.attempt(
            lambda: ticket_services.ticket_update(
                ticket=ticket,
                actor=request.user,
                changes=changes,
                expected_version=form.cleaned_data["version"],
                override_reason=reason,
            )
        )
        if error is not None and error.stale:
            mine = {name: request.POST.get(name, "") for name in changes}
            status = error.status
            notice = {"conflict": _conflict(changes, mine, error.current)}
        elif error is not None:
            status, notice = error.status, {"error": error.message, "error_field": error.field}
            if error.code in OVERRIDABLE:
                notice["refusal"] = _refusal(error)
                if "override" in request.POST and not reason:
                    notice["override_error"] = "Say why you close it anyway: history records it."
    else:
        status = 400
        notice = {"error": "; ".join(f"{n}: {' '.join(e)}" for n, e in form.errors.items())}
    if notice and "error" in notice:
        # Keep what the user typed beside the message (nothing typed is lost).
        notice["typed"] = {n: request.POST[n] for n in ("progress", "size") if n in request.POST}
    column = form.cleaned_data.get("column") if form.is_valid() else None
    if status == 200 and not _is_partial(request):
        return redirect(_board_url(team, sprint, lanes))
    if not _is_partial(request):
        context = _board_context(request, team, sprint, lanes, notice=(key, notice))
        context["sprints"] = selectors.sprint_choices()
        return render(request, TEMPLATE, context, status=status)
    moved = updated is not None and (
        updated.status != (column or ticket.status)
        or (lanes == "assignee" and updated.assignee_id != ticket.assignee_id)
    )
    if moved:
        # The card changes column (or lane): the whole body, focus kept on the moved card.
        context = _board_context(request, team, sprint, lanes, focus_key=key)
        response = render(request, BODY, context)
        return reswap(retarget(response, "#board-body"), "outerHTML")
    return _render_card(request, team, sprint, lanes, key, notice or {}, status)


def _refusal(error: pages.FormError) -> dict:
    """What holds a move to done back, for the card: the blocker keys or failing criteria."""
    extra = error.extra or {}
    return {
        "code": error.code,
        "blockers": extra.get("blockers", []),
        "failures": extra.get("failures", []),
    }


def _render_card(request, team, sprint, lanes, key, notice: dict, status: int) -> HttpResponse:
    ticket = ticket_queryset().get(key=key)
    _present(request, [ticket])
    selectors.attach_moves(ticket)
    for name, value in notice.items():
        setattr(ticket, name, value)
    context = {
        "ticket": ticket,
        "team": team,
        "sprint": sprint,
        "lanes": lanes,
        "members": team_selectors.team_members(team),
        "board_query": _query(sprint, lanes),
    }
    return render(request, CARD, context, status=status)


def _shown(field: str, value) -> str:
    if field == "status" and value:
        return Ticket.Status(value).label
    if isinstance(value, User):
        return value.display_name
    if value is None:
        return "nobody" if field == "assignee" else ""
    return display_value(Decimal(str(value)) if field in {"progress", "size"} else value)


def _conflict(changes: dict, mine: dict, current: Ticket) -> dict:
    """Both versions of every field the user tried to change, for the user to choose."""
    rows = []
    for field, value in changes.items():
        theirs, yours = _shown(field, getattr(current, field)), _shown(field, value)
        if theirs != yours:
            rows.append({"field": FIELD_LABELS[field], "theirs": theirs, "mine": yours})
    return {"rows": rows, "current_version": current.version, "mine": mine}


@require_POST
def board_wip(request, prefix: str):
    """Set the team's WIP limits (its lead or the Scrum master)."""
    team = _team(prefix)
    sprint, lanes = _params(request, team)
    limits = {
        name.removeprefix("wip-"): value
        for name, value in request.POST.items()
        if name.startswith("wip-")
    }
    _, error = pages.attempt(
        lambda: services.team_set_wip_limits(actor=request.user, team=team, limits=limits)
    )
    if error is None and not _is_partial(request):
        return redirect(_board_url(team, sprint, lanes))
    if error is not None:
        team.refresh_from_db()
    status = error.status if error else 200
    extra = {"wip_error": error.message, "wip_typed": limits} if error else {"wip_saved": True}
    context = _board_context(request, team, sprint, lanes, **extra)
    if not _is_partial(request):
        context["sprints"] = selectors.sprint_choices()
        return render(request, TEMPLATE, context, status=status)
    return render(request, BODY, context, status=status)


@require_POST
def board_adjustment_add(request, prefix: str):
    """Record a capacity change of the team in the board's sprint (its lead or the Scrum
    master); the forecast recomputes through the service."""
    team = _team(prefix)
    sprint, lanes = _params(request, team)
    if sprint is None:
        raise Http404("no sprint")
    form = AdjustmentForm(request.POST)
    form.is_valid()  # text fields: always valid; the service judges the values
    _, error = pages.attempt(
        lambda: planning_services.adjustment_create(
            actor=request.user, sprint=sprint, team=team, **form.values()
        ),
        fields=form.fields,
    )
    if error is None:
        extra = {"adjust_saved": True}
    elif error.field:
        error.add_to(form)
        form.fields[error.field].widget.attrs["autofocus"] = True  # the keyboard lands there
        extra = {"adjust_form": form}
    else:  # 403 and the like: above the form, seen even by those who have no form
        extra = {"adjust_error": error.message}
    status = error.status if error else 200
    return _render_capacity_change(request, team, sprint, lanes, status, extra)


@require_POST
def board_holiday_add(request, prefix: str):
    """A public holiday in the team's calendar (its lead or the Scrum master)."""
    team = _team(prefix)
    sprint, lanes = _params(request)
    if sprint is None:
        raise Http404("no sprint")
    _, error = pages.attempt(
        lambda: options_services.holiday_set(
            actor=request.user,
            team=team,
            day=request.POST.get("date", ""),
            name=request.POST.get("name", ""),
        )
    )
    extra = {"holiday_error": error.message} if error else {"holiday_saved": True}
    status = error.status if error else 200
    return _render_capacity_change(request, team, sprint, lanes, status, extra)


@require_POST
def board_adjustment_remove(request, prefix: str, adjustment_id: int):
    team = _team(prefix)
    sprint, lanes = _params(request, team)
    adjustment = get_object_or_404(
        CapacityAdjustment.objects.select_related("team"), pk=adjustment_id, team=team
    )
    _, error = pages.attempt(
        lambda: planning_services.adjustment_delete(actor=request.user, adjustment=adjustment)
    )
    extra = {"adjust_error": error.message} if error else {"adjust_removed": True}
    status = error.status if error else 200
    return _render_capacity_change(request, team, sprint, lanes, status, extra)


def _render_capacity_change(request, team, sprint, lanes, status: int, extra: dict):
    if status == 200 and not _is_partial(request):
        return redirect(_board_url(team, sprint, lanes))
    context = _board_context(request, team, sprint, lanes, **extra)
    if not _is_partial(request):
        context["sprints"] = selectors.sprint_choices()
        return render(request, TEMPLATE, context, status=status)
    return render(request, BODY, context, status=status)
