"""The Start-sprint dialog: what is being committed (goals, dates, scope per team against
capacity) and what is wrong with it (ordering problems, blockers nobody planned, another
active sprint of the same team), before the Scrum master confirms."""

from django.shortcuts import get_object_or_404, render

from planning import selectors
from sprints.models import Sprint
from sprints.services import overlapping_active


def sprint_start(request, sprint_id: int):
    sprint = get_object_or_404(Sprint.objects.prefetch_related("teams"), pk=sprint_id)
    dependency_graph = selectors.sprint_graph(sprint)
    problems = [link for link in dependency_graph.links if link.health == "red"]
    capacity = list(selectors.sprint_capacity(sprint))
    planned = [link for link in problems if link.blocker.node.sprint_rank is not None]
    context = {
        "sprint": sprint,
        "goals": list(selectors.sprint_goals(sprint)),
        "capacity": capacity,
        "ticket_count": sum(1 for t in dependency_graph.tickets.values() if t.in_sprint),
        "ordering_problems": planned,
        "unplanned_blockers": [link for link in problems if link.blocker.node.sprint_rank is None],
        "over_committed": [row for row in capacity if row.over_committed],
        "clashes": overlapping_active(sprint) if sprint.state == Sprint.State.PLANNING else [],
        "team_names": [team.name for team in sprint.teams.all()],
    }
    return render(request, "planning/start.html", context)
