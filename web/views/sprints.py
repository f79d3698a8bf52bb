import itertools
from datetime import date, timedelta

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.policy import can_manage_goals, can_manage_risks
from dependencies import layout
from dependencies.selectors import insight_freshness
from planning import dashboard, selectors, services
from planning.burn import sprint_burn_charts
from planning.calendar_selectors import over_allocations
from planning.models import CapacityAdjustment, Risk, SprintGoal
from programs.selectors.governance import decisions_for_sprint
from sprintplan import derived
from sprintplan.errors import DomainError, InvalidInput
from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket
from tickets.presenters import present_tickets
from tickets.services import ticket_move_in_ranking, ticket_update
from web.forms.sprints import AdjustmentForm, SprintForm, WhatIfForm
from web.selectors.tickets import blocker_facts, sprint_lanes
from web.views.create import creatable_teams


def sprint_list(request):
    """All sprints, recent velocity, and (Scrum master) a form for the next sprint; a new
    sprint opens in the planning room."""
    form, status = SprintForm(), 200
    if request.method == "POST":
        form = SprintForm(request.POST)
        if form.is_valid():
            try:
                sprint = services.sprint_create(actor=request.user, **form.cleaned_data)
                return redirect(f"{reverse('planning-room')}?sprint={sprint.pk}")
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = exc.status
        else:
            status = 400
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


def sprint_detail(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    context = {**_sprint_context(request, sprint), "what_if_form": WhatIfForm(sprint=sprint)}
    context["sprint_decisions"] = decisions_for_sprint(sprint)  # decision records linking it
    return render(request, "planning/sprint_detail.html", context)


@require_GET
def sprint_live(request, sprint_id: int):
    """204 when nothing changed since `since`; else the refreshed page body."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    if request.GET.get("since") == selectors.sprint_change_token(sprint):
        return HttpResponse(status=204)
    context = _sprint_context(request, sprint)
    return render(request, "planning/sprint_detail.html#sprint-body", context)


def _sprint_context(request, sprint: Sprint) -> dict:
    change_token = selectors.sprint_change_token(
        sprint
    )  # read first: a change after it shows next time
    lanes = sprint_lanes(sprint)
    tickets = [ticket for lane in lanes for ticket in lane.tickets]
    present_tickets(request.user, tickets, blocker_facts(tickets))
    dependency_graph = selectors.mark_link_health(sprint, tickets)
    return {
        **dashboard.sprint_dashboard(request, sprint, tickets),
        "sprint": sprint,
        "change_token": change_token,
        "lanes": lanes,
        "ticket_count": len(tickets),
        "blocked_count": sum(1 for t in tickets if t.is_blocked),
        "red_count": dependency_graph.red_count,
        "freshness": insight_freshness(),
        "statuses": Ticket.Status.choices,
        "adjustment_form": AdjustmentForm(),
        "commitment": getattr(sprint, "commitment", None),
        "open_sprints": selectors.open_sprints(),
        # a callable: read only where the close dialog is shown (Scrum master, active sprint)
        "close_targets": lambda: services.close_targets(sprint),
        "burn_charts": sprint_burn_charts(sprint),
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
    status = 200
    if form.is_valid():
        try:
            services.adjustment_create(actor=request.user, sprint=sprint, **form.cleaned_data)
            form = AdjustmentForm()
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            status = exc.status
    else:
        status = 400
    return _render_capacity(request, sprint, form, status)


@require_POST
def adjustment_remove(request, sprint_id: int, adjustment_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    adjustment = get_object_or_404(
        CapacityAdjustment.objects.select_related("team"), pk=adjustment_id, sprint=sprint
    )
    status, error = 200, None
    try:
        services.adjustment_delete(actor=request.user, adjustment=adjustment)
    except DomainError as exc:
        status, error = exc.status, exc.message
    return _render_capacity(request, sprint, AdjustmentForm(), status, capacity_error=error)


def _render_capacity(request, sprint: Sprint, form, status: int, **extra):
    if status == 200 and not (request.htmx and not request.htmx.boosted):
        return redirect("sprint-detail", sprint_id=sprint.pk)
    context = {**_sprint_context(request, sprint), "adjustment_form": form, **extra}
    context["what_if_form"] = WhatIfForm(sprint=sprint)
    template = "planning/sprint_detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#capacity"
    return render(request, template, context, status=status)


@require_POST
def what_if(request, sprint_id: int):
    """Preview a change of scope or capacity; nothing is saved."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    form = WhatIfForm(request.POST, sprint=sprint)
    context: dict = {"sprint": sprint, "what_if_form": form}
    status = 400
    if form.is_valid():
        try:
            context["preview"] = _dated(services.forecast_what_if(sprint=sprint, **form.proposal()))
            status = 200
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            status = exc.status
    return render(request, "planning/sprint_detail.html#what-if", context, status=status)


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
    try:
        services.sprint_commit(actor=request.user, sprint=sprint)
    except DomainError as exc:
        context = {**_sprint_context(request, sprint), "commit_error": exc.message}
        context["what_if_form"] = WhatIfForm(sprint=sprint)
        return render(request, "planning/sprint_detail.html", context, status=exc.status)
    return redirect("sprint-detail", sprint_id=sprint.pk)


# --- planning room ------------------------------------------------------------------------------


def planning_room(request):
    """Backlog on the left, the sprint being planned on the right; pull, take out, rank."""
    target = selectors.planning_target(request.GET.get("sprint"))
    template = "planning/backlog.html"
    if request.htmx and not request.htmx.boosted:
        template += "#planning-room"  # a filter change re-renders the room only
    return render(request, template, _planning_context(request, target))


PLANNING_ACTIONS = frozenset({"pull", "remove", "rank"})


def _planning_context(request, target: Sprint | None, **extra) -> dict:
    filters = request.GET if request.method == "GET" else request.POST
    tickets, total = selectors.backlog(filters)
    present_tickets(request.user, tickets, blocker_facts(tickets))
    context = {
        "target": target,
        "sprints": list(selectors.open_sprints()),
        "backlog": tickets,
        "backlog_total": total,
        "backlog_shown": selectors.BACKLOG_SHOWN,
        "teams": Team.objects.order_by("name"),
        "types": Ticket.Type.choices,
        "filters": {key: filters.get(key, "") for key in ("team", "type", "q")},
        "quick_add_teams": creatable_teams(request.user),
        **extra,
    }
    if target is None:
        return context
    _attach_ranking_neighbours(tickets)
    warnings = selectors.pull_warnings(tickets, target)
    for ticket in tickets:
        ticket.pull_warnings = warnings.get(ticket.id, [])
    lanes = sprint_lanes(target)
    scope = [ticket for lane in lanes for ticket in lane.tickets]
    present_tickets(request.user, scope, blocker_facts(scope))
    selectors.mark_link_health(target, scope)
    capacity = selectors.sprint_capacity(target)
    names = {summary.team_key: summary.team_name for summary in capacity}
    context.update(
        goals=list(selectors.sprint_goals(target)),
        risks=list(
            Risk.objects.filter(sprint=target)
            .select_related("owner")
            .prefetch_related("mitigating_tickets")
        ),
        people=User.objects.exclude(product_role=User.ProductRole.INTEGRATION).order_by("username"),
        may_manage_goals=can_manage_goals(request.user),
        may_manage_risks=can_manage_risks(request.user),
        risk_states=Risk.State.choices,
        levels=Risk.Level.choices,
        lanes=lanes,
        capacity=capacity,
        overallocation=over_allocations(
            [s.team_id for s in capacity if s.committed], target.start_date, target.end_date
        ),
        forecast=dashboard.forecast_for(target, names),
        # When the oldest change the forecast has not taken in was made (None: up to date).
        forecast_pending=derived.pending_since(services.SPRINT_FORECAST, target.pk),
    )
    return context


def _attach_ranking_neighbours(tickets) -> None:
    """For the keyboard buttons: ▲ puts a ticket above its predecessor; ▼ puts it above the
    ticket after its successor (or last)."""
    keys = [ticket.key for ticket in tickets]
    for index, ticket in enumerate(tickets):
        ticket.up_before = keys[index - 1] if index > 0 else None
        if index + 1 < len(keys):
            ticket.down_before = keys[index + 2] if index + 2 < len(keys) else ""
        else:
            ticket.down_before = None


@require_POST
def planning_move(request, action: str):
    """Pull a ticket into the sprint being planned, take it out, or move it in the ranking."""
    if action not in PLANNING_ACTIONS:
        raise Http404(f"No planning action {action!r}.")
    target = selectors.planning_target(request.POST.get("sprint"))
    ticket = get_object_or_404(Ticket, key=request.POST.get("ticket", ""))
    version = _int(request.POST.get("version"))
    status, notice = 200, None
    try:
        if action == "pull" and target is not None:
            ticket_update(
                ticket=ticket,
                actor=request.user,
                changes={"sprint": target},
                expected_version=version,
            )
        elif action == "remove":
            ticket_update(
                ticket=ticket,
                actor=request.user,
                changes={"sprint": None},
                expected_version=version,
            )
        elif action == "rank":
            before_key = request.POST.get("before") or ""
            before = get_object_or_404(Ticket, key=before_key) if before_key else None
            ticket_move_in_ranking(
                ticket=ticket, actor=request.user, before=before, expected_version=version
            )
    except DomainError as exc:
        status, notice = exc.status, exc.message
    if status == 200 and not (request.htmx and not request.htmx.boosted):
        suffix = f"?sprint={target.pk}" if target else ""
        return redirect(f"{reverse('planning-room')}{suffix}")
    context = _planning_context(request, target, notice=notice)
    template = "planning/backlog.html"
    if request.htmx and not request.htmx.boosted:
        template += "#planning-room"
    return render(request, template, context, status=status)


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
    try:
        moved = services.sprint_close(actor=request.user, sprint=sprint, carry_to=carry_to)
    except DomainError as exc:
        context = {**_sprint_context(request, sprint), "commit_error": exc.message}
        context["what_if_form"] = WhatIfForm(sprint=sprint)
        return render(request, "planning/sprint_detail.html", context, status=exc.status)
    where = carry_to.name if carry_to else "the backlog"
    messages.success(
        request, f"{sprint.name} closed; {len(moved)} unfinished ticket(s) moved to {where}."
    )
    return redirect("sprint-detail", sprint_id=sprint.pk)


@require_POST
def capacity_edit(request, sprint_id: int, team_key: str):
    """A lead (or the Scrum master) sets the team's focus factor and each member's part-time
    share and days off for the sprint; capacity and the forecast follow."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    team = get_object_or_404(Team, key_prefix=team_key)
    status, error = 200, None
    try:
        services.capacity_update(
            actor=request.user,
            sprint=sprint,
            team=team,
            focus_factor=request.POST.get("focus_factor") or None,
            availability=_availability_rows(request.POST, team),
        )
    except DomainError as exc:
        status, error = exc.status, exc.message
    return _render_capacity(
        request, sprint, AdjustmentForm(), status, capacity_error=error, open_team=team.pk
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
    status, notice = 200, None
    try:
        action()
    except DomainError as exc:
        status, notice = exc.status, exc.message
    if status == 200 and not (request.htmx and not request.htmx.boosted):
        return redirect(f"{reverse('planning-room')}?sprint={sprint.pk}")
    context = _planning_context(request, sprint, notice=notice)
    template = "planning/backlog.html"
    if request.htmx and not request.htmx.boosted:
        template += "#planning-room"
    return render(request, template, context, status=status)
