import itertools

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from dependencies import layout
from sprintplan.errors import DomainError
from tickets.models import Ticket
from tickets.presenters import present_tickets
from tickets.selectors import blocker_facts, insight_freshness, sprint_lanes

from . import dashboard, selectors, services
from .forms import AdjustmentForm, WhatIfForm
from .models import CapacityAdjustment, Sprint


def sprint_list(request):
    return render(request, "planning/sprint_list.html", {"sprints": selectors.sprint_list()})


def sprint_detail(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    context = {**_sprint_context(request, sprint), "what_if_form": WhatIfForm(sprint=sprint)}
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
            context["preview"] = services.forecast_what_if(sprint=sprint, **form.proposal())
            status = 200
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            status = exc.status
    return render(request, "planning/sprint_detail.html#what-if", context, status=status)


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
