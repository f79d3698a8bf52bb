"""Program board pages: the program list, a program with its PIs, and a PI's board with
its planning forms (Scrum master / Product Owner) and live refresh. Thin: parse, call a
service or selector, render; a refused change is shown beside its field (htmx swaps 4xx)."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.policy import can_plan_program
from planning.calendar_selectors import over_allocations
from sprintplan.errors import DomainError
from teams.models import Team

from ..models import Feature, Milestone, PlanningInterval, Program
from ..selectors import board as selectors
from ..selectors.governance import decisions_for_program
from ..services import board as services

# --- programs --------------------------------------------------------------------------------


def program_list(request):
    return render(request, "programs/board/program_list.html", _list_context(request))


def _list_context(request, **extra) -> dict:
    return {
        "programs": list(selectors.program_list()),
        "may_plan": can_plan_program(request.user),
        "all_teams": Team.objects.order_by("name"),
        "errors": {},
        "values": {},
        **extra,
    }


@require_POST
def program_add(request):
    try:
        program = services.program_create(
            actor=request.user,
            name=request.POST.get("name", ""),
            description=request.POST.get("description", ""),
            team_ids=request.POST.getlist("teams"),
        )
    except DomainError as exc:
        context = _list_context(request, errors={exc.field or "form": exc.message})
        context["values"] = request.POST
        return render(request, "programs/board/program_list.html", context, status=exc.status)
    return redirect("program-detail", pk=program.pk)


def program_detail(request, pk: int):
    return render(request, "programs/board/program_detail.html", _detail_context(request, pk))


def _detail_context(request, pk: int, **extra) -> dict:
    try:
        program = selectors.program_detail(pk)
    except Program.DoesNotExist:
        raise Http404("No such program.") from None
    return {
        "program": program,
        "pis": list(program.intervals.all()),
        "decisions": decisions_for_program(program),
        "may_plan": can_plan_program(request.user),
        "free_sprints": list(selectors.free_sprints()) if can_plan_program(request.user) else [],
        "errors": {},
        "values": {},
        **extra,
    }


@require_POST
def pi_add(request, pk: int):
    program = get_object_or_404(Program, pk=pk)
    post = request.POST
    try:
        if post.get("mode") == "existing":
            pi = services.pi_create(
                actor=request.user,
                program=program,
                name=post.get("name", ""),
                sprint_ids=post.getlist("sprints") or None,
            )
        else:
            pi = services.pi_create(
                actor=request.user,
                program=program,
                name=post.get("name", ""),
                start_date=post.get("start_date") or None,
                sprint_count=post.get("sprint_count") or None,
                sprint_weeks=post.get("sprint_weeks") or None,
            )
    except DomainError as exc:
        context = _detail_context(request, pk, errors={exc.field or "form": exc.message})
        context["values"] = post
        return render(request, "programs/board/program_detail.html", context, status=exc.status)
    return redirect("pi-board", pk=pi.pk)


# --- the board -------------------------------------------------------------------------------


def _pi(pk: int) -> PlanningInterval:
    return get_object_or_404(PlanningInterval.objects.select_related("program"), pk=pk)


def pi_board(request, pk: int):
    pi = _pi(pk)
    return render(request, "programs/board/pi_board.html", _board_context(request, pi))


@require_GET
def pi_board_live(request, pk: int):
    """204 when nothing changed since `since`; else the refreshed board body."""
    pi = _pi(pk)
    if request.GET.get("since") == selectors.pi_change_token(pi):
        return HttpResponse(status=204)
    return render(request, "programs/board/pi_board.html#board-body", _board_context(request, pi))


def _board_context(request, pi: PlanningInterval, **extra) -> dict:
    token = selectors.pi_change_token(pi)  # read first: a change after it shows next time
    view = selectors.pi_board(pi)
    return {
        "program": pi.program,
        "pi": pi,
        "board": view,
        "change_token": token,
        "may_plan": can_plan_program(request.user),
        "milestone_kinds": Milestone.Kind.choices,
        "overallocation": over_allocations(
            pi.program.teams.values_list("id", flat=True), pi.start_date, pi.end_date
        ),
        "errors": {},
        "values": {},
        **extra,
    }


def _board_answer(request, pi: PlanningInterval, action, form: str):
    """Run `action`; on success redirect (or re-render the board body for htmx); on a
    refusal re-render with the message beside the form's field and the error status."""
    try:
        action()
    except DomainError as exc:
        message = {exc.field or "form": exc.message}
        context = _board_context(request, pi, errors={form: message}, values=request.POST)
        for row in context["board"].features:  # a feature row's own forms
            if form == f"feature-{row.id}":
                row.errors = message
        template = "programs/board/pi_board.html"
        if request.htmx and not request.htmx.boosted:
            template += "#board-body"
        return render(request, template, context, status=exc.status)
    if request.htmx and not request.htmx.boosted:
        return render(
            request, "programs/board/pi_board.html#board-body", _board_context(request, pi)
        )
    return redirect(reverse("pi-board", args=[pi.pk]) + "#" + form.replace("_", "-"))


@require_POST
def milestone_add(request, pk: int):
    pi, post = _pi(pk), request.POST
    return _board_answer(
        request,
        pi,
        lambda: services.milestone_create(
            actor=request.user,
            pi=pi,
            name=post.get("name", ""),
            date=post.get("date", ""),
            kind=post.get("kind") or Milestone.Kind.EVENT,
            hard=post.get("hard") == "on",
        ),
        "milestone_add",
    )


@require_POST
def feature_add(request, pk: int):
    pi, post = _pi(pk), request.POST
    return _board_answer(
        request,
        pi,
        lambda: services.feature_create(
            actor=request.user,
            pi=pi,
            team=post.get("team") or None,
            title=post.get("title", ""),
            planned_sprint=post.get("planned_sprint") or None,
            milestone=post.get("milestone") or None,
            ticket_keys=post.get("ticket_keys", "").replace(",", " ").split(),
        ),
        "feature_add",
    )


def _feature(pk: int, feature_id: int) -> Feature:
    return get_object_or_404(Feature.objects.select_related("pi__program"), pk=feature_id, pi_id=pk)


@require_POST
def feature_move(request, pk: int, feature_id: int):
    feature, post = _feature(pk, feature_id), request.POST
    return _board_answer(
        request,
        feature.pi,
        lambda: services.feature_move(
            actor=request.user,
            feature=feature,
            planned_sprint=post.get("planned_sprint") or None,
            expected_version=int(post.get("version") or 0),
        ),
        f"feature-{feature.pk}",
    )


@require_POST
def feature_tickets(request, pk: int, feature_id: int):
    """Attach (`attach` = keys) or detach (`detach` = one key) tickets of a feature."""
    feature, post = _feature(pk, feature_id), request.POST
    if post.get("detach"):

        def action():
            services.feature_tickets_detach(
                actor=request.user, feature=feature, keys=[post["detach"]]
            )
    else:

        def action():
            services.feature_tickets_attach(
                actor=request.user, feature=feature, keys=post.get("attach", "")
            )

    return _board_answer(request, feature.pi, action, f"feature-{feature.pk}")
