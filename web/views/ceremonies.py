"""The ceremonies after planning: the daily stand-up (shared screen), the sprint review
(printable, one page per goal) and the retrospective. Pages read through
web.selectors.ceremonies and write through ceremonies.services; refusals are shown beside
the form that caused them."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.policy import can_manage_goals, can_take_part_in_ceremonies
from ceremonies import services
from ceremonies.models import RetroItem
from planning.models import SprintGoal
from sprintplan import pages
from sprintplan.pages import FormError
from sprints.models import Sprint
from teams.models import Team
from web.selectors import ceremonies as selectors


def _team(request: HttpRequest) -> Team | None:
    prefix = request.GET.get("team") or request.POST.get("team") or ""
    return Team.objects.filter(key_prefix=prefix).first() if prefix else None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def standup(request: HttpRequest, sprint_id: int) -> HttpResponse:
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    team = _team(request)
    ageing_days = min(max(_int(request.GET.get("ageing")) or 2, 1), 30)
    context = {
        "sprint": sprint,
        "team": team,
        "teams": Team.objects.filter(tickets__sprint=sprint).distinct().order_by("name"),
        "standup": selectors.standup(
            sprint,
            team=team,
            ageing_days=ageing_days,
            person_id=_int(request.GET.get("person")),
        ),
        "ageing_days": ageing_days,
        "can_hold": can_take_part_in_ceremonies(request.user),
        "can_set_threshold": can_manage_goals(request.user),
        "goals": SprintGoal.objects.filter(sprint=sprint).select_related("threshold"),
    }
    return render(request, "ceremonies/standup.html", context)


@require_POST
def standup_hold(request: HttpRequest, sprint_id: int) -> HttpResponse:
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    team = _team(request)
    url = reverse("sprint-standup", args=[sprint.pk])
    return pages.announce(
        request,
        lambda: services.standup_hold(actor=request.user, sprint=sprint, team=team),
        done=f"{url}?team={team.key_prefix}" if team else url,
        said="Stand-up recorded: the next one starts from now.",
    )


@require_POST
def goal_threshold(request: HttpRequest, sprint_id: int, goal_id: int) -> HttpResponse:
    goal = get_object_or_404(SprintGoal, pk=goal_id, sprint_id=sprint_id)
    return pages.announce(
        request,
        lambda: services.goal_threshold_set(
            actor=request.user, goal=goal, threshold=request.POST.get("threshold", "")
        ),
        done=reverse("sprint-standup", args=[sprint_id]),
        said=lambda row: (
            f"You will hear when the goal's chance crosses {row.threshold * 100:.0f} %."
        ),
        refused="Threshold not changed: ",
    )


def review(request: HttpRequest, sprint_id: int) -> HttpResponse:
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    return render(
        request, "ceremonies/review.html", {"sprint": sprint, "review": selectors.review(sprint)}
    )


def retro(request: HttpRequest, sprint_id: int) -> HttpResponse:
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    return _retro_page(request, sprint)


def _retro_page(request, sprint, *, error: FormError | None = None, form=None) -> HttpResponse:
    context = {
        "sprint": sprint,
        "retro": selectors.retro(sprint),
        "kinds": RetroItem.Kind.choices,
        "teams": Team.objects.order_by("name"),
        "people": User.objects.filter(is_active=True)
        .exclude(product_role__in=["integration", "viewer"])
        .order_by("first_name", "username"),
        "can_write": can_take_part_in_ceremonies(request.user),
        "error": error,
        "form": form or {},
    }
    return render(request, "ceremonies/retro.html", context, status=error.status if error else 200)


@require_POST
def retro_add(request: HttpRequest, sprint_id: int) -> HttpResponse:
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    owner = User.objects.filter(pk=_int(request.POST.get("owner"))).first()
    return pages.submit(
        request,
        lambda: services.retro_item_add(
            actor=request.user,
            sprint=sprint,
            kind=request.POST.get("kind", ""),
            text=request.POST.get("text", ""),
            team=_team(request),
            owner=owner,
        ),
        render=lambda error: _retro_page(request, sprint, error=error, form=request.POST),
        done=reverse("sprint-retro", args=[sprint_id]),
        rerender=False,
    )


@require_POST
def retro_action_ticket(request: HttpRequest, sprint_id: int, item_id: int) -> HttpResponse:
    item = get_object_or_404(RetroItem, pk=item_id, sprint_id=sprint_id)

    def make_ticket():
        ticket = services.retro_action_to_ticket(actor=request.user, item=item, team=_team(request))
        messages.success(request, f"The action is now {ticket.key} in {ticket.sprint.name}.")

    return pages.submit(
        request,
        make_ticket,
        render=lambda error: _retro_page(request, item.sprint, error=error),
        done=reverse("sprint-retro", args=[sprint_id]),
        rerender=False,
    )


@require_POST
def retro_action_done(request: HttpRequest, sprint_id: int, item_id: int) -> HttpResponse:
    item = get_object_or_404(RetroItem, pk=item_id)
    return pages.announce(
        request,
        lambda: services.retro_action_set_done(
            actor=request.user, item=item, done=request.POST.get("done") == "1"
        ),
        done=reverse("sprint-retro", args=[sprint_id]),
    )
