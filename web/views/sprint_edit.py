"""The sprint's settings page: its name, dates and goal, changed at the version the page
showed (a change made meanwhile by someone else is shown beside yours, never overwritten)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.policy import can_manage_sprints
from sprintplan import pages
from sprints.models import Sprint
from sprints.services import sprint_update
from web.forms.sprints import SprintEditForm

TEMPLATE = "planning/sprint_edit.html"


@require_http_methods(["GET", "POST"])
def sprint_edit(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    if request.method == "GET":
        return _page(request, sprint, SprintEditForm(initial=_initial(sprint)))
    form = SprintEditForm(request.POST)
    if not form.is_valid():
        return _page(request, sprint, form, status=400)
    _, error = pages.attempt(
        lambda: sprint_update(
            actor=request.user,
            sprint=sprint,
            changes=form.changes(),
            expected_version=form.cleaned_data["version"],
        ),
        fields=form.fields,
    )
    if error is None:
        messages.success(request, f"{sprint.name} saved.")
        return redirect("sprint-detail", sprint_id=sprint.pk)
    if error.stale:
        return _page(
            request, sprint, _keep_mine(request, error.current), error.status, error.current
        )
    error.add_to(form)
    return _page(request, sprint, form, status=error.status)


def _initial(sprint: Sprint) -> dict:
    return {name: getattr(sprint, name) for name in (*SprintEditForm.FIELDS, "version")}


def _keep_mine(request, current: Sprint) -> SprintEditForm:
    """What the user typed, now at the current version: saving again applies it on top."""
    data = request.POST.copy()
    data["version"] = current.version
    form = SprintEditForm(data)
    form.is_valid()
    return form


def _page(request, sprint, form, status: int = 200, theirs: Sprint | None = None):
    context = {
        "sprint": sprint,
        "form": form,
        "theirs": theirs,
        "may_edit": can_manage_sprints(request.user),
    }
    return render(request, TEMPLATE, context, status=status)
