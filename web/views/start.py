"""The Start-sprint dialog: what is being committed (goals, dates, scope per team against
capacity) and what is wrong with it (ordering problems, blockers nobody planned, another
active sprint of the same team), before the Scrum master confirms."""

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from planning import selectors
from sprintplan import pages
from sprints.models import Sprint
from sprints.services import overlapping_active, sprint_set_teams
from teams.models import Team


def sprint_start(request, sprint_id: int, *, teams_error: str = "", status: int = 200):
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
        "all_teams": Team.objects.order_by("name"),
        "chosen_team_ids": {team.pk for team in sprint.teams.all()},
        "teams_error": teams_error,
    }
    return render(request, "planning/start.html", context, status=status)


@require_POST
def sprint_teams(request, sprint_id: int):
    """Change the participating teams while the sprint is in planning (Scrum master)."""
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    ids = [int(pk) for pk in request.POST.getlist("teams") if pk.isdigit()]

    def refused(error):
        request.method = "GET"
        return sprint_start(request, sprint_id, teams_error=error.message, status=error.status)

    return pages.submit(
        request,
        lambda: sprint_set_teams(actor=request.user, sprint=sprint, teams=ids),
        render=refused,
        done=reverse("sprint-start", args=[sprint.pk]),
        rerender=False,
    )
