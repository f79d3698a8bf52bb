import itertools

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from dependencies import layout
from tickets.models import Ticket
from tickets.presenters import present_tickets
from tickets.selectors import (
    blocker_facts,
    insight_freshness,
    sprint_change_token,
    sprint_lanes,
)

from . import selectors
from .models import Sprint


def sprint_list(request):
    return render(request, "planning/sprint_list.html", {"sprints": selectors.sprint_list()})


def sprint_detail(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    return render(request, "planning/sprint_detail.html", _sprint_context(request, sprint))


@require_GET
def sprint_live(request, sprint_id: int):
    """204 when nothing changed since `since`; else the refreshed page body."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    if request.GET.get("since") == sprint_change_token(sprint):
        return HttpResponse(status=204)
    context = _sprint_context(request, sprint)
    return render(request, "planning/sprint_detail.html#sprint-body", context)


def _sprint_context(request, sprint: Sprint) -> dict:
    change_token = sprint_change_token(sprint)  # read first: a change after it shows next time
    lanes = sprint_lanes(sprint)
    tickets = [ticket for lane in lanes for ticket in lane.tickets]
    present_tickets(request.user, tickets, blocker_facts(tickets))
    dependency_graph = selectors.mark_link_health(sprint, tickets)
    return {
        "sprint": sprint,
        "change_token": change_token,
        "lanes": lanes,
        "ticket_count": len(tickets),
        "blocked_count": sum(1 for t in tickets if t.is_blocked),
        "red_count": dependency_graph.red_count,
        "freshness": insight_freshness(),
        "statuses": Ticket.Status.choices,
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
