"""Where people land: their own team's sprint (or board); a product with nothing in it yet
greets the Scrum master with the setup checklist instead of empty pages."""

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render

from accounts.models import User
from accounts.policy import can_manage_sprints, team_roles
from planning.selectors import current_sprint
from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket


def home(request):
    user = request.user
    steps = setup_steps()
    if not all(step["done"] for step in steps) and can_manage_sprints(user):
        return render(request, "home/setup.html", {"steps": steps})
    own = list(team_roles(user))
    if own and not (user.is_scrum_master or user.is_product_owner):
        sprint = current_sprint(own)
        if sprint is None or sprint.state != Sprint.State.ACTIVE:
            prefix = Team.objects.filter(pk=own[0]).values_list("key_prefix", flat=True).first()
            return redirect("team-board", prefix=prefix)
        return redirect("sprint-detail", sprint_id=sprint.pk)
    sprint = current_sprint()
    if sprint is None:
        return (
            render(request, "home/setup.html", {"steps": steps})
            if can_manage_sprints(user)
            else redirect("sprint-list")
        )
    return redirect("sprint-detail", sprint_id=sprint.pk)


def setup_steps() -> list[dict]:
    """The first-run checklist, each step done or not (four small queries)."""
    people = User.objects.filter(is_active=True).exclude(product_role=User.ProductRole.INTEGRATION)
    return [
        {
            "name": "teams",
            "title": "Create your teams",
            "text": "Name, key prefix (LAB, ML…), what their work is measured in.",
            "url": "team-list",
            "done": Team.objects.exists(),
        },
        {
            "name": "people",
            "title": "Add people",
            "text": "Each gets a one-time link to choose a password; make the leads leads.",
            "url": "people",
            "done": people.count() > 1,
        },
        {
            "name": "sprint",
            "title": "Plan the first sprint",
            "text": "Dates, goal and the teams taking part.",
            "url": "sprint-list",
            "done": Sprint.objects.exists(),
        },
        {
            "name": "backlog",
            "title": "Fill the backlog",
            "text": "Leads add their tickets: New ticket in the top bar, or the c key.",
            "url": "ticket-new",
            "done": Ticket.objects.exists(),
        },
    ]


class LoginView(auth_views.LoginView):
    """The login page; on a fresh install (nobody to log in as yet) it says how to make the
    first Scrum master."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["first_run"] = not User.objects.exists()
        return context
