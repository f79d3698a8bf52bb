from django.shortcuts import get_object_or_404, render

from tickets.models import Ticket
from tickets.presenters import present_tickets
from tickets.selectors import insight_freshness, keys_for_insights, sprint_lanes

from . import selectors
from .models import Sprint


def sprint_list(request):
    return render(request, "planning/sprint_list.html", {"sprints": selectors.sprint_list()})


def sprint_detail(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    lanes = sprint_lanes(sprint)
    tickets = [ticket for lane in lanes for ticket in lane.tickets]
    present_tickets(request.user, tickets, keys_for_insights(tickets))
    return render(
        request,
        "planning/sprint_detail.html",
        {
            "sprint": sprint,
            "lanes": lanes,
            "ticket_count": len(tickets),
            "blocked_count": sum(1 for t in tickets if t.is_blocked),
            "freshness": insight_freshness(),
            "statuses": Ticket.Status.choices,
        },
    )
