"""The sprint forecast's "What should we do?" panel: ranked options (loaded after the page,
cached per forecast inputs), the causes and the trend; Apply and assumptions go through
planning's services."""

import json

from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.policy import can_manage_sprints
from planning import dashboard, options_services, panel
from planning.selectors import sprint_capacity
from quality.selectors import sprint_dod_matrix
from sprintplan import pages
from sprintplan.errors import InvalidInput
from sprints.models import Sprint


def panel_context(request, sprint: Sprint, **extra) -> dict:
    report = options_services.current_options(sprint)
    names = {s.team_key: s.team_name for s in sprint_capacity(sprint)}
    forecast = dashboard.forecast_for(sprint, names)
    rows = []
    if report is not None:
        for option in report.top():
            rows.append(
                {
                    "option": option,
                    "percent": round(option.p_met * 100),
                    "gain": round((option.p_met - report.p_met) * 100),
                    "params": json.dumps(option.params, sort_keys=True),
                    "may_apply": options_services.can_apply(request.user, option),
                }
            )
    goal_text = report.goal_text if report else None
    return {
        "sprint": sprint,
        "report": report,
        "option_rows": rows,
        "today_percent": round(report.p_met * 100) if report else None,
        "causes": panel.goal_causes(
            forecast.stored if forecast else None, sprint_dod_matrix(sprint), goal_text
        ),
        "trend": panel.forecast_trend(sprint, goal_text) if goal_text else [],
        "unplanned": forecast.unplanned if forecast else [],
        "may_assume": can_manage_sprints(request.user),
        **extra,
    }


@require_GET
def sprint_options(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    return render(request, "planning/_options_panel.html", panel_context(request, sprint))


@require_POST
def sprint_option_apply(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)

    def apply():
        try:
            params = json.loads(request.POST.get("params") or "{}")
        except ValueError:
            raise InvalidInput("That option could not be read.", field="params") from None
        return options_services.option_apply(
            actor=request.user,
            sprint=sprint,
            kind=request.POST.get("kind", ""),
            params=params,
            reason=request.POST.get("reason", ""),
        )

    decision, error = pages.attempt(apply)
    if error is not None:
        context = panel_context(
            request, sprint, apply_error=error.message, failed_kind=request.POST.get("kind")
        )
        return render(request, "planning/_options_panel.html", context, status=error.status)
    if not request.htmx:
        return redirect("sprint-detail", sprint_id=sprint.pk)
    return render(
        request, "planning/_options_panel.html", panel_context(request, sprint, applied=decision)
    )


@require_POST
def sprint_assumption_add(request, sprint_id: int):
    sprint = get_object_or_404(Sprint, pk=sprint_id)
    return pages.submit(
        request,
        lambda: options_services.assumption_record(
            actor=request.user,
            sprint=sprint,
            ticket_key=request.POST.get("ticket_key", ""),
            note=request.POST.get("note", ""),
        ),
        render=lambda error: render(
            request,
            "planning/_options_panel.html",
            panel_context(request, sprint, assume_error=error.message if error else None),
        ),
        done=reverse("sprint-detail", args=[sprint.pk]),
    )
