"""Program board pages: the program list, a program with its PIs, and a PI's board with
its planning forms (Scrum master / Product Owner) and live refresh. Thin: parse, call a
service or selector, render; a refused change is shown beside its field (htmx swaps 4xx)."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.policy import can_plan_program
from planning.calendar_selectors import over_allocations
from sprintplan import pages
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


def _refused(request, template: str, context: dict, error: pages.FormError):
    """A page with the refused form's message beside its field and what was typed."""
    context.update(errors=error.by_field(), values=request.POST)
    return render(request, template, context)


@require_POST
def program_add(request):
    return pages.submit(
        request,
        lambda: services.program_create(
            actor=request.user,
            name=request.POST.get("name", ""),
            description=request.POST.get("description", ""),
            team_ids=request.POST.getlist("teams"),
        ),
        render=lambda error: _refused(
            request, "programs/board/program_list.html", _list_context(request), error
        ),
        done=lambda program: reverse("program-detail", args=[program.pk]),
        rerender=False,
    )


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


def _pi_layout(post) -> dict:
    """A PI over sprints that exist, or a new run of sprints."""
    if post.get("mode") == "existing":
        return {"sprint_ids": post.getlist("sprints") or None}
    return {
        "start_date": post.get("start_date") or None,
        "sprint_count": post.get("sprint_count") or None,
        "sprint_weeks": post.get("sprint_weeks") or None,
    }


@require_POST
def pi_add(request, pk: int):
    program = get_object_or_404(Program, pk=pk)
    post = request.POST
    return pages.submit(
        request,
        lambda: services.pi_create(
            actor=request.user, program=program, name=post.get("name", ""), **_pi_layout(post)
        ),
        render=lambda error: _refused(
            request, "programs/board/program_detail.html", _detail_context(request, pk), error
        ),
        done=lambda pi: reverse("pi-board", args=[pi.pk]),
        rerender=False,
    )


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


def _render_board(request, pi: PlanningInterval, error: pages.FormError | None):
    """The board (its body for htmx); after a refusal with the message beside the
    refused form's field and what was typed."""
    context = _board_context(request, pi)
    if error:
        message = error.by_field()
        context.update(errors={error.form: message}, values=request.POST)
        for row in context["board"].features:  # a feature row's own forms
            if error.form == f"feature-{row.id}":
                row.errors = message
    template = "programs/board/pi_board.html"
    if pages.is_partial(request):
        template += "#board-body"
    return render(request, template, context)


BOARD = pages.Page(
    owner=_pi, owner_field="pi", render=_render_board, url_name="pi-board", anchor=True
)


def _milestone_new(post, _pi, _same) -> dict:
    return {
        "name": post.get("name", ""),
        "date": post.get("date", ""),
        "kind": post.get("kind") or Milestone.Kind.EVENT,
        "hard": post.get("hard") == "on",
    }


def _feature_new(post, _pi, _same) -> dict:
    return {
        "team": post.get("team") or None,
        "title": post.get("title", ""),
        "planned_sprint": post.get("planned_sprint") or None,
        "milestone": post.get("milestone") or None,
        "ticket_keys": post.get("ticket_keys", "").replace(",", " ").split(),
    }


milestone_add = pages.CreateView.as_view(
    page=BOARD, form="milestone_add", service=services.milestone_create, parse=_milestone_new
)
feature_add = pages.CreateView.as_view(
    page=BOARD, form="feature_add", service=services.feature_create, parse=_feature_new
)
FEATURE = pages.Target(
    Feature.objects.select_related("pi__program"), "feature_id", "feature-{obj.pk}", "feature"
)
feature_move = pages.PageAction.as_view(
    page=BOARD,
    target=FEATURE,
    versioned=True,
    service=services.feature_move,
    parse=lambda post, _pi, _feature: {"planned_sprint": post.get("planned_sprint") or None},
)


@require_POST
def feature_tickets(request, pk: int, feature_id: int):
    """Attach (`attach` = keys) or detach (`detach` = one key) tickets of a feature."""
    pi = _pi(pk)
    feature, post = FEATURE.get(pi, "pi", {"feature_id": feature_id}), request.POST
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

    return BOARD.answer(request, pi, action, form=f"feature-{feature.pk}")
