import hashlib
import itertools
from datetime import date, timedelta

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap

from accounts.models import User
from accounts.policy import can_manage_goals, can_manage_risks, editable_fields_in_team
from dependencies import layout
from dependencies.selectors import insight_freshness
from planning import dashboard, selectors, services
from planning.burn import sprint_burn_charts
from planning.calendar_selectors import over_allocations, team_calendars
from planning.models import CapacityAdjustment, Risk, SprintGoal
from planning.sprint_version import SprintVersion, rows_moved_since, sprint_version
from programs.selectors.governance import decisions_for_sprint
from quality.selectors import sprint_dod_matrix
from sprintplan import derived, pages
from sprintplan.drawn_once import drawn_once
from sprintplan.errors import InvalidInput
from sprintplan.filters import valid_id
from sprints.models import Sprint
from sprints.services import participant_ids
from teams.models import Team
from tickets.models import Ticket
from tickets.presenters import present_tickets
from tickets.services import ticket_move_in_ranking, ticket_update
from web.forms.sprints import AdjustmentForm, SprintForm, WhatIfForm
from web.selectors.tickets import (
    blocker_facts,
    lane_slice,
    sprint_lane_heads,
    sprint_lane_totals,
    sprint_lanes,
    sprint_summary_rows,
)
from web.selectors.tickets import ticket_queryset as web_ticket_queryset
from web.views.create import creatable_teams


def sprint_list(request):
    """All sprints, recent velocity, and (Scrum master) a form for the next sprint; a new
    sprint opens in the planning room."""
    if request.method != "POST":
        return _render_sprint_list(request, SprintForm())
    form = SprintForm(request.POST)
    if not form.is_valid():
        return _render_sprint_list(request, form, status=400)
    return pages.submit(
        request,
        lambda: services.sprint_create(actor=request.user, **form.cleaned_data),
        render=lambda error: _render_sprint_list(request, _with_error(form, error)),
        done=_room_url,
        fields=form.fields,
        rerender=False,
    )


def _with_error(form, error):
    """The form with a refusal beside the field it names (form-level otherwise)."""
    if error is not None:
        form.add_error(error.field if error.field in form.fields else None, error.message)
    return form


def _render_sprint_list(request, form, status: int = 200):
    sprints = list(selectors.sprint_list())
    started = [s for s in sprints if s.start_date <= timezone.localdate()]
    velocity = selectors.sprint_velocity(started[0]) if started else []
    teams = sorted({team for entry in velocity for team in entry["teams"]})
    for entry in velocity:  # one cell per team column, None where the team had nothing
        entry["cells"] = [entry["teams"].get(team) for team in teams]
    context = {
        "sprints": sprints,
        "velocity": velocity,
        "velocity_teams": teams,
        "sprint_form": form,
    }
    return render(request, "planning/sprint_list.html", context, status=status)


# The sprint page shows each team's first rows at once; the rest load in slices as the table
# scrolls into view, and the burn-up charts when they do.
FIRST_ROWS = 12
ROW_SLICE = 100


def sprint_detail(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    whole = request.GET.get("full") == "1"  # without JavaScript: every part at once
    context = _sprint_context(request, sprint, all_rows=whole)
    if whole:
        context["burn_charts"] = sprint_burn_charts(sprint)
        context["dod"] = sprint_dod_matrix(sprint)
        context["what_if_form"] = WhatIfForm(sprint=sprint)
    context["sprint_decisions"] = decisions_for_sprint(sprint)  # decision records linking it
    return render(request, "planning/sprint_detail.html", context)


@require_GET
def sprint_burn(request, sprint_id: int):
    """The burn-up charts, loaded when they scroll into view. Cached per data version: the
    change token moves with every ticket change and forecast run, and the day."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    key = f"sprint-burn:{sprint.pk}:{timezone.localdate()}:{selectors.sprint_change_token(sprint)}"
    html = drawn_once(
        key,
        lambda: render_to_string(
            "planning/_burn_charts.html",
            {"charts": sprint_burn_charts(sprint), "sprint": sprint},
            request=request,
        ),
        keep_seconds=BURN_CACHE_SECONDS,
        wait_seconds=BURN_WAIT_SECONDS,
    )
    return HttpResponse(html)


BURN_CACHE_SECONDS = 3600  # a new version makes a new key; old ones just expire
BURN_WAIT_SECONDS = 0.5


@require_GET
def sprint_dod(request, sprint_id: int):
    """The Definition of Done matrix, loaded when it scrolls into view (a column per ticket:
    the heaviest part of the page to read and to draw). Nothing when no criterion applies."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    context = {"sprint": sprint, "dod": sprint_dod_matrix(sprint)}
    return render(request, "planning/sprint_detail.html#dod-matrix", context)


@require_GET
def sprint_rows(request, sprint_id: int):
    """Server-side slices and search of the sprint page's team tables: with `team`, the
    next rows of that team after `after`; else every team's first rows matching `q`."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    search = request.GET.get("q", "").strip()
    team_id = valid_id(request.GET.get("team"))
    if team_id is None:
        lanes = sprint_lanes(sprint, search=search)
        tickets = _first_rows(lanes)
        _present_rows(request, sprint, tickets)
        context = {"sprint": sprint, "lanes": lanes, "search": search}
        return render(request, "planning/sprint_detail.html#lanes", _with_statuses(context))
    rows, more = lane_slice(
        sprint, team_id, after=request.GET.get("after", ""), limit=ROW_SLICE, search=search
    )
    _present_rows(request, sprint, rows)
    context = {
        "sprint": sprint,
        "rows": rows,
        "team_id": team_id,
        "more_after": rows[-1].key if more else "",
        "search": search,
    }
    return render(request, "planning/sprint_detail.html#lane-rows", _with_statuses(context))


def _with_statuses(context: dict) -> dict:
    return {**context, "statuses": Ticket.Status.choices}


def _present_rows(request, sprint: Sprint, tickets) -> None:
    """What a row of the sprint page shows beyond the ticket: edit rights, blockers, link
    health and the stored forecast. A fixed number of queries."""
    present_tickets(request.user, tickets, blocker_facts(tickets))
    selectors.mark_link_health(sprint, tickets)
    dashboard.attach_ticket_forecasts(tickets, dashboard.forecast_for(sprint, {}))


def _first_rows(lanes) -> list:
    """Mark in each lane the rows shown at once (`shown`) and where the next slice starts
    (`more_after`, "" when none); returns the rows shown."""
    shown = []
    for lane in lanes:
        lane.shown = lane.tickets[:FIRST_ROWS]
        lane.more_after = lane.shown[-1].key if len(lane.tickets) > len(lane.shown) else ""
        shown += lane.shown
    return shown


@require_GET
def sprint_live(request, sprint_id: int):
    """What an open sprint page needs to be current again, given the version it shows
    (`since`) and its critical path (`crit`): nothing (204) while that version is current;
    the rows that moved, their lanes' totals and the summary figures, when only ticket fields
    and insights moved (a few rows' work, whatever the sprint's size); else the whole body."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    shown = SprintVersion.parse(request.GET.get("since", ""))
    current = sprint_version(sprint)
    if shown == current:
        return HttpResponse(status=204)
    if shown is not None and current.same_rows_as(shown):
        delta = _sprint_delta(request, sprint, shown, current, request.GET.get("crit", ""))
        if delta is not None:
            return delta
    context = _sprint_context(request, sprint, version=current)
    return render(request, "planning/sprint_detail.html#sprint-body", context)


# More moved rows than this and the whole body is cheaper to send (and to swap).
DELTA_ROWS = 40
# Every open page asks within a second of a change, with the same two versions: the answer
# is drawn once for all who may edit the same rows, and kept only for that burst (its
# "just now" must not outlive it).
DELTA_CACHE_SECONDS = 30
# The first of them draws it; the others wait this long for its drawing before drawing their own.
DELTA_WAIT_SECONDS = 1.0


def _sprint_delta(request, sprint, shown, current, critical_digest: str):
    """The moved rows and what sums them, each swapped into its place out of band; None when
    the whole body must be redrawn (too many rows, or the critical path moved)."""
    moved = rows_moved_since(sprint, shown)
    if len(moved) > DELTA_ROWS:
        return None
    # what differs between people in this answer: which of the rows' fields they may edit
    rights = sorted(
        (team_id, sorted(editable_fields_in_team(request.user, team_id)))
        for team_id in set(moved.values())
    )
    versions = f"{sprint.pk}|{shown.token}|{current.token}|{critical_digest}|{rights}"
    key = f"sprint-delta:{hashlib.sha256(versions.encode()).hexdigest()}"
    html = drawn_once(
        key,
        lambda: _draw_delta(request, sprint, moved, current, critical_digest),
        keep_seconds=DELTA_CACHE_SECONDS,
        wait_seconds=DELTA_WAIT_SECONDS,
    )
    if not html:
        return None
    return reswap(HttpResponse(html), "none")  # every piece finds its own place


def _draw_delta(request, sprint, moved: dict, current, critical_digest: str) -> str:
    """The delta's HTML, or "" when the critical path moved (every row's marker may)."""
    rows = list(web_ticket_queryset().filter(pk__in=moved))
    present_tickets(request.user, rows, blocker_facts(rows))
    dependency_graph = selectors.mark_link_health(sprint, rows)
    if dependency_graph.critical_digest != critical_digest:
        return ""
    dashboard.attach_ticket_forecasts(rows, dashboard.forecast_for(sprint, {}))
    context = {
        **_blocking_summary(sprint_summary_rows(sprint)),
        "sprint": sprint,
        "change_token": current.token,
        "critical_digest": critical_digest,
        "rows": rows,
        "lanes": sprint_lane_totals(sprint),
        "ticket_count": current.tickets,
        "red_count": dependency_graph.red_count,
        "freshness": insight_freshness(),
        "recent_changes": selectors.recent_changes(sprint, timezone.now() - timedelta(days=1)),
        "statuses": Ticket.Status.choices,
    }
    return render_to_string("planning/sprint_detail.html#sprint-delta", context, request=request)


def _blocking_summary(rows) -> dict:
    """The summary's blocked count and "Unblock first", from every ticket of the sprint
    (sprint_summary_rows)."""
    return {
        "blocked_count": sum(1 for row in rows if row.blocked),
        "root_blockers": dashboard.root_blockers_by_impact(rows),
    }


def _sprint_context(
    request, sprint: Sprint, *, all_rows: bool = False, version: SprintVersion | None = None
) -> dict:
    # the version is read first: a change after it shows next time
    version = version or sprint_version(sprint)
    # Only the rows drawn are loaded whole; the summary's counts and the lanes' totals come
    # from a narrow read of every ticket.
    everyone = sprint_summary_rows(sprint)
    lanes = sprint_lane_heads(everyone, first=None if all_rows else FIRST_ROWS)
    shown = [ticket for lane in lanes for ticket in lane.shown]
    present_tickets(request.user, shown, blocker_facts(shown))
    dependency_graph = selectors.mark_link_health(sprint, shown)
    return {
        **dashboard.sprint_dashboard(request, sprint, shown),
        **_blocking_summary(everyone),
        "sprint": sprint,
        "change_token": version.token,
        "critical_digest": dependency_graph.critical_digest,
        "lanes": lanes,
        "ticket_count": len(everyone),
        "first_rows": FIRST_ROWS,
        "red_count": dependency_graph.red_count,
        "freshness": insight_freshness(),
        "statuses": Ticket.Status.choices,
        "adjustment_form": AdjustmentForm(),
        "commitment": getattr(sprint, "commitment", None),
        "open_sprints": selectors.open_sprints(),
        # a callable: read only where the close dialog is shown (Scrum master, active sprint)
        "close_targets": lambda: services.close_targets(sprint),
        "recent_changes": selectors.recent_changes(sprint, timezone.now() - timedelta(days=1)),
        "risks": selectors.sprint_risks(sprint),
    }


def sprint_graph(request, sprint_id: int):
    """The sprint's dependencies drawn as SVG: lanes per team, critical path, link health."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    dependency_graph = selectors.sprint_graph(sprint)
    tickets = dependency_graph.tickets
    lane_of = {ticket_id: t.team_name for ticket_id, t in tickets.items()}
    pairs = [(link.blocker.id, link.blocked.id) for link in dependency_graph.links]
    drawing = layout.layout(lane_of, sorted(set(lane_of.values())), pairs)
    critical = dependency_graph.critical_ids
    critical_pairs = set(itertools.pairwise(dependency_graph.critical.path))
    edges = [
        {
            "path": drawing.edge_path(link.blocker.id, link.blocked.id),
            "health": link.health,
            "critical": (link.blocker.id, link.blocked.id) in critical_pairs,
            "title": f"{link.blocker.key} blocks {link.blocked.key}"
            + (f": {link.problem}" if link.problem else ""),
        }
        for link in dependency_graph.links
    ]
    nodes = [
        {
            "ticket": t,
            "box": drawing.boxes[ticket_id],
            "critical": ticket_id in critical,
            "slack": dependency_graph.critical.slack_days.get(ticket_id),
        }
        for ticket_id, t in sorted(tickets.items(), key=lambda item: item[1].key)
    ]
    return render(
        request,
        "planning/sprint_graph.html",
        {
            "sprint": sprint,
            "graph": dependency_graph,
            "drawing": drawing,
            "edges": edges,
            "nodes": nodes,
            "critical_keys": [tickets[i].key for i in dependency_graph.critical.path],
            "problems": [link for link in dependency_graph.links if link.problem],
        },
    )


# --- capacity adjustments and what-if ---------------------------------------------------------


@require_POST
def adjustment_add(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    form = AdjustmentForm(request.POST)
    if not form.is_valid():
        return _render_capacity(request, sprint, form, status=400)
    return pages.submit(
        request,
        lambda: services.adjustment_create(actor=request.user, sprint=sprint, **form.cleaned_data),
        # done: an empty form for the next change; refused: this one, the error beside it
        render=lambda error: _render_capacity(
            request, sprint, _with_error(form, error) if error else AdjustmentForm()
        ),
        done=reverse("sprint-detail", args=[sprint.pk]),
        fields=form.fields,
    )


@require_POST
def adjustment_remove(request, sprint_id: int, adjustment_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    adjustment = get_object_or_404(
        CapacityAdjustment.objects.select_related("team"), pk=adjustment_id, sprint=sprint
    )
    return pages.submit(
        request,
        lambda: services.adjustment_delete(actor=request.user, adjustment=adjustment),
        render=lambda error: _render_capacity(
            request, sprint, AdjustmentForm(), capacity_error=error and error.message
        ),
        done=reverse("sprint-detail", args=[sprint.pk]),
    )


def _render_capacity(request, sprint: Sprint, form, status: int = 200, **extra):
    """The capacity card (htmx) or the whole sprint page with it."""
    context = {**_sprint_context(request, sprint), "adjustment_form": form, **extra}
    context["what_if_form"] = WhatIfForm(sprint=sprint)
    template = "planning/sprint_detail.html"
    if pages.is_partial(request):
        template += "#capacity"
    return render(request, template, context, status=status)


def _render_what_if(request, error, sprint_id: int, form=None, preview=None, status=400):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    if form is None:  # refused by the service: the posted form, the error beside its field
        form = WhatIfForm(request.POST, sprint=sprint)
        form.is_valid()
        _with_error(form, error)
    context = {"sprint": sprint, "what_if_form": form, "preview": preview, "what_if_open": True}
    status = 200 if preview is not None else status
    return render(request, "planning/sprint_detail.html#what-if", context, status=status)


@require_http_methods(["GET", "POST"])
@pages.refusals(_render_what_if)
def what_if(request, sprint_id: int):
    """Preview a change of scope or capacity; nothing is saved. GET: the empty form, which
    the sprint page loads when its "What if…?" section is opened (its ticket choices are
    the sprint's whole scope: not drawn until asked for)."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    if request.method == "GET":
        return _render_what_if(request, None, sprint_id, form=WhatIfForm(sprint=sprint), status=200)
    form = WhatIfForm(request.POST, sprint=sprint)
    if not form.is_valid():
        return _render_what_if(request, None, sprint_id, form=form)
    preview = _dated(services.forecast_what_if(sprint=sprint, **form.proposal()))
    return _render_what_if(request, None, sprint_id, form=form, preview=preview)


def _dated(preview: dict) -> dict:
    """The delta's ISO dates as dates, so the page shows them in the app's format."""
    for change in preview["delta"]["tickets"].values():
        for name in ("p85_before", "p85_after"):
            if change.get(name):
                change[name] = date.fromisoformat(change[name])
    return preview


@require_POST
def sprint_commit(request, sprint_id: int):
    """End planning (Scrum master): the scope, capacity and DoD version are snapshotted."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    return pages.submit(
        request,
        lambda: services.sprint_commit(actor=request.user, sprint=sprint),
        render=lambda error: _render_commit_refused(request, sprint, error),
        done=reverse("sprint-detail", args=[sprint.pk]),
        rerender=False,
    )


def _render_commit_refused(request, sprint: Sprint, error):
    """The sprint page with the refusal of a commit or close at its top."""
    context = {**_sprint_context(request, sprint), "commit_error": error.message}
    context["what_if_form"] = WhatIfForm(sprint=sprint)
    context["sprint_decisions"] = decisions_for_sprint(sprint)
    return render(request, "planning/sprint_detail.html", context)


# --- planning room ------------------------------------------------------------------------------


def planning_room(request):
    """Backlog on the left, the sprint being planned on the right; pull, take out, rank.
    htmx asks for the room alone (a filter change) or, with `after`, the next backlog slice."""
    target = selectors.planning_target(request.GET.get("sprint"))
    if pages.is_partial(request) and request.GET.get("after"):
        context = _backlog_context(request, target, request.GET, after=request.GET["after"])
        return render(request, "planning/backlog.html#backlog-slice", context)
    template = "planning/backlog.html"
    if pages.is_partial(request):
        template += "#planning-room"  # a filter change re-renders the room only
    return render(request, template, _planning_context(request, target))


PLANNING_ACTIONS = frozenset({"pull", "remove", "rank"})


def _planning_context(request, target: Sprint | None, **extra) -> dict:
    filters = request.GET if request.method == "GET" else request.POST
    after = filters.get("after", "")  # without JavaScript, "More tickets…" pages here
    context = {
        **_backlog_context(request, target, filters, after=after),
        "sprints": list(selectors.open_sprints()),
        "teams": Team.objects.order_by("name"),
        "types": Ticket.Type.choices,
        "quick_add_teams": creatable_teams(request.user),
        **extra,
    }
    if target is not None:
        context.update(_scope_context(request, target))
    return context


def _backlog_context(request, target: Sprint | None, filters, *, after: str = "") -> dict:
    """One slice of the filtered backlog, its rows ready to show (warnings for `target`)."""
    tickets, total, more = selectors.backlog(filters, after=after)
    _present_backlog_rows(request, target, tickets)
    return {
        "target": target,
        "backlog": tickets,
        "backlog_total": total,
        "backlog_more": more,
        "backlog_shown": selectors.BACKLOG_SHOWN,
        "filters": {key: filters.get(key, "") for key in ("team", "type", "q")},
    }


def _present_backlog_rows(request, target: Sprint | None, tickets) -> None:
    present_tickets(request.user, tickets, blocker_facts(tickets))
    _attach_pull_warnings(target, tickets)


def _attach_pull_warnings(target: Sprint | None, tickets) -> None:
    """What pulling each backlog ticket into `target` would leave out of order."""
    warnings = selectors.pull_warnings(tickets, target) if target and tickets else {}
    for ticket in tickets:
        ticket.pull_warnings = warnings.get(ticket.id, [])


def _scope_context(request, target: Sprint) -> dict:
    """The right-hand side: the sprint's lanes, capacity, forecast, goals and risks."""
    lanes = sprint_lanes(target)
    scope = [ticket for lane in lanes for ticket in lane.tickets]
    present_tickets(request.user, scope, blocker_facts(scope))
    selectors.mark_link_health(target, scope)
    return {
        **_capacity_and_forecast(target, len(scope)),
        "goals": list(selectors.sprint_goals(target)),
        "risks": list(
            Risk.objects.filter(sprint=target)
            .select_related("owner")
            .prefetch_related("mitigating_tickets")
        ),
        "people": User.objects.exclude(product_role=User.ProductRole.INTEGRATION).order_by(
            "username"
        ),
        "may_manage_goals": can_manage_goals(request.user),
        "may_manage_risks": can_manage_risks(request.user),
        "risk_states": Risk.State.choices,
        "levels": Risk.Level.choices,
        "lanes": lanes,
    }


def _capacity_and_forecast(target: Sprint, scope_count: int) -> dict:
    """What follows every change of scope: capacity bars, over-allocation, forecast line.
    Both read the teams' capacity calendars over the sprint: computed once, for both."""
    teams = participant_ids(target)
    calendars = team_calendars(teams, target.start_date, target.end_date)
    capacity = selectors.sprint_capacity(target, teams, calendars=calendars)
    names = {summary.team_key: summary.team_name for summary in capacity}
    committed = [s.team_id for s in capacity if s.committed]
    # When the oldest change the forecast has not taken in was made (None: up to date).
    pending = derived.pending_since(services.SPRINT_FORECAST, target.pk)
    return {
        "scope_count": scope_count,
        "capacity": capacity,
        "overallocation": over_allocations(
            committed, target.start_date, target.end_date, calendars=calendars
        ),
        # The forecast line shows the stored forecast only when it is current and there is
        # scope (after a move it says "updating"): read it only then.
        "forecast": None if pending or not scope_count else dashboard.forecast_for(target, names),
        "forecast_pending": pending,
    }


def _room_url(target: Sprint | None) -> str:
    return reverse("planning-room") + (f"?sprint={target.pk}" if target else "")


@require_POST
def planning_move(request, action: str):
    """Pull a ticket into the sprint being planned, take it out, or move it in the ranking
    (above `before`, or one step `direction` up / down among the backlog as filtered).
    htmx gets the moved row and what depends on it (room-changes), not the whole room."""
    if action not in PLANNING_ACTIONS:
        raise Http404(f"No planning action {action!r}.")
    target = selectors.planning_target(request.POST.get("sprint"))
    ticket = get_object_or_404(Ticket, key=request.POST.get("ticket", ""))
    return pages.submit(
        request,
        lambda: _move(request, action, target, ticket),
        render=lambda error: _move_answer(request, action, target, ticket.key, error),
        done=_room_url(target),
    )


def _move(request, action: str, target: Sprint | None, ticket: Ticket) -> None:
    version = pages.version(request.POST)
    if action in ("pull", "remove"):
        if action == "pull" and target is None:
            return
        sprint = target if action == "pull" else None
        ticket_update(
            ticket=ticket, actor=request.user, changes={"sprint": sprint}, expected_version=version
        )
        return
    direction = request.POST.get("direction")
    if direction in ("up", "down"):
        moves, before = selectors.backlog_rank_target(request.POST, ticket, direction)
        if not moves:
            return  # already at the top (or bottom): nothing to do
    else:
        before_key = request.POST.get("before") or ""
        before = get_object_or_404(Ticket, key=before_key) if before_key else None
    ticket_move_in_ranking(
        ticket=ticket, actor=request.user, before=before, expected_version=version
    )


def _move_answer(request, action: str, target: Sprint | None, key: str, error) -> HttpResponse:
    notice = error.message if error else None
    if not pages.is_partial(request):
        return render(
            request, "planning/backlog.html", _planning_context(request, target, notice=notice)
        )
    context = {"target": target, "notice": notice, **_room_changes(request, action, target, key)}
    return render(request, "planning/backlog.html#room-changes", context)


def _room_changes(request, action: str, target: Sprint | None, key: str) -> dict:
    """Where the moved ticket now shows (its backlog or scope row, placed by rank), the rows
    linked to it (their warnings follow it), the backlog count and, for the sprint being
    planned, capacity and forecast. A list or lane that appears or empties is answered
    whole. A fixed number of queries, whatever the size of backlog and sprint."""
    filters = request.POST
    moved = get_object_or_404(web_ticket_queryset(), key=key)
    linked = list(
        web_ticket_queryset().filter(
            pk__in=selectors.linked_ticket_ids(moved), archived_at__isnull=True
        )
    )
    present_tickets(request.user, [moved, *linked], blocker_facts([moved, *linked]))
    backlog = selectors.filtered_backlog(filters)
    total = selectors.backlog_count(backlog)
    in_backlog = moved.sprint_id is None and selectors.backlog_holds(backlog, key)
    _attach_pull_warnings(target, [t for t in [moved, *linked] if t.sprint_id is None])
    changes = {
        "moved": moved,
        "backlog_total": total,
        "backlog_shown": selectors.BACKLOG_SHOWN,
        "filters": {name: filters.get(name, "") for name in ("team", "type", "q")},
        "linked_backlog": [t for t in linked if t.sprint_id is None],
    }
    if total <= 1 and (in_backlog or action == "pull"):  # the list appears or empties
        changes.update(_backlog_context(request, target, filters), backlog_body=True)
    elif in_backlog:
        below = selectors.backlog_next_key(backlog, moved)
        changes["backlog_place"] = f"#backlog-{below}" if below else "#backlog-end"
    if target is not None and action != "rank":  # ranking moves backlog rows only
        changes.update(_scope_changes(request, action, target, moved, linked), scope_changed=True)
    return changes


def _scope_changes(request, action: str, target: Sprint, moved: Ticket, linked: list) -> dict:
    in_scope = moved.sprint_id == target.pk
    scope_count, lane_size = selectors.scope_sizes(target, moved.team_id)
    lane_came = action == "pull" and in_scope and lane_size == 1
    if lane_came or (action == "remove" and not in_scope and lane_size == 0):
        return {**_scope_context(request, target), "scope_card": True}  # a lane came or went
    scope_rows = [t for t in [moved, *linked] if t.sprint_id == target.pk]
    selectors.mark_link_problems(target, scope_rows)
    changes = {
        **_capacity_and_forecast(target, scope_count),
        "linked_scope": [t for t in linked if t.sprint_id == target.pk],
    }
    if in_scope:
        below = selectors.scope_next_key(target, moved)
        changes["scope_place"] = (
            f"beforebegin:#scope-{below}" if below else f"beforeend:#scope-lane-{moved.team_id}"
        )
    return changes


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0  # no version sent: the service answers with a conflict naming the current


@require_POST
def sprint_close(request, sprint_id: int):
    """Close the sprint (Scrum master): unfinished work goes to the chosen sprint or backlog."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    carry_id = request.POST.get("carry_to") or ""
    carry_to = Sprint.objects.filter(pk=carry_id).first() if carry_id.isdigit() else None

    def close():
        moved = services.sprint_close(actor=request.user, sprint=sprint, carry_to=carry_to)
        where = carry_to.name if carry_to else "the backlog"
        messages.success(
            request, f"{sprint.name} closed; {len(moved)} unfinished ticket(s) moved to {where}."
        )

    return pages.submit(
        request,
        close,
        render=lambda error: _render_commit_refused(request, sprint, error),
        done=reverse("sprint-detail", args=[sprint.pk]),
        rerender=False,
    )


@require_POST
def capacity_edit(request, sprint_id: int, team_key: str):
    """A lead (or the Scrum master) sets the team's focus factor and each member's part-time
    share and days off for the sprint; capacity and the forecast follow."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    team = get_object_or_404(Team, key_prefix=team_key)
    return pages.submit(
        request,
        lambda: services.capacity_update(
            actor=request.user,
            sprint=sprint,
            team=team,
            focus_factor=request.POST.get("focus_factor") or None,
            availability=_availability_rows(request.POST, team),
        ),
        render=lambda error: _render_capacity(
            request,
            sprint,
            AdjustmentForm(),
            capacity_error=error and error.message,
            open_team=team.pk,
        ),
        done=reverse("sprint-detail", args=[sprint.pk]),
    )


def _availability_rows(data, team: Team) -> list[dict]:
    """One row per member field pair sent: part_time_<user id>, days_off_<user id>."""
    rows = []
    for user_id in team.memberships.values_list("user_id", flat=True):
        if f"part_time_{user_id}" not in data:
            continue
        raw = data.get(f"part_time_{user_id}", "").strip() or "100"
        days = [d.strip() for d in data.get(f"days_off_{user_id}", "").split(",") if d.strip()]
        part_time = int(raw) if raw.isdigit() else raw  # the service names a bad value
        rows.append({"user": user_id, "part_time_percent": part_time, "days_off": days})
    return rows


# --- goals and pre-mortem risks in the planning room -----------------------------------------


@require_POST
def planning_goal_add(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    return _planning_action(
        request,
        sprint,
        lambda: services.goal_create(
            actor=request.user,
            sprint=sprint,
            text=request.POST.get("text", ""),
            ticket_keys=request.POST.getlist("tickets"),
        ),
    )


@require_POST
def planning_goal_remove(request, sprint_id: int, goal_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    goal = get_object_or_404(SprintGoal, pk=goal_id, sprint=sprint)
    return _planning_action(
        request, sprint, lambda: services.goal_delete(actor=request.user, goal=goal)
    )


@require_POST
def risk_add(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    return _planning_action(
        request,
        sprint,
        lambda: services.risk_raise(
            actor=request.user,
            sprint=sprint,
            title=request.POST.get("title", ""),
            likelihood=_int(request.POST.get("likelihood")),
            impact=_int(request.POST.get("impact")),
        ),
    )


@require_POST
def risk_update(request, sprint_id: int, risk_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    risk = get_object_or_404(Risk, pk=risk_id, sprint=sprint)
    owner_id = request.POST.get("owner") or ""
    follow_up = request.POST.get("follow_up") or ""

    def roam():
        return services.risk_roam(
            actor=request.user,
            risk=risk,
            state=request.POST.get("state", ""),
            owner=User.objects.filter(pk=owner_id).first() if owner_id.isdigit() else None,
            follow_up=_date_or_none(follow_up),
            note=request.POST.get("note", ""),
            mitigating_keys=[k for k in request.POST.get("mitigating", "").split(",") if k.strip()],
        )

    return _planning_action(request, sprint, roam)


def _date_or_none(value: str):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD).", field="follow_up") from None


def _planning_action(request, sprint: Sprint, action):
    """Goals and risks answer with the whole room (htmx) or go back to it."""

    def answer(error):
        context = _planning_context(request, sprint, notice=error and error.message)
        template = "planning/backlog.html"
        if pages.is_partial(request):
            template += "#planning-room"
        return render(request, template, context)

    return pages.submit(request, action, render=answer, done=_room_url(sprint))
