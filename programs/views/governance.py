"""Pages of the governance area: PI objectives and predictability, program risks (ROAM),
the RACI matrix and decision records. Thin: parse, call a service or selector, render.

Every form posts with htmx and gets the page body (or the RACI row) back, refusals
included (4xx, the message beside the field); without htmx a success redirects."""

from datetime import date

from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.policy import (
    can_change_capacity,
    can_edit_objectives,
    can_edit_raci,
    can_manage_risks,
    can_record_decisions,
    can_set_business_value,
)
from planning.models import Risk
from sprintplan.errors import DomainError, InvalidInput, StaleVersion
from teams.models import Team

from ..models import Decision, Objective, PlanningInterval, Program, ProgramRisk, RaciActivity
from ..selectors import governance as selectors
from ..services import governance as services

T = "programs/governance/"


def _partial(request) -> bool:
    return bool(request.htmx and not request.htmx.boosted)


def _act(request, action, *, form: str, fields: tuple[str, ...], done_url: str, render_page):
    """Run `action`; on success redirect (plain POST) or re-render; on a refusal re-render
    with the message beside the field it names (form-level when the form lacks it)."""
    error = None
    try:
        action()
    except DomainError as exc:
        error = {
            "form": form,
            "field": exc.field if exc.field in fields else "",
            "message": exc.message,
            "status": exc.status,
            "stale": isinstance(exc, StaleVersion),
        }
    if error is None and not _partial(request):
        return redirect(done_url)
    return render_page(error)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0  # no version sent: the service answers with a conflict naming the current


def _date_or_none(value: str, field: str):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD).", field=field) from None


def _keys(text: str) -> list[str]:
    return [k.strip() for k in (text or "").replace(";", ",").split(",") if k.strip()]


# --- objectives ------------------------------------------------------------------------------


def _pi(pk: int) -> PlanningInterval:
    return get_object_or_404(PlanningInterval.objects.select_related("program"), pk=pk)


def objectives_page(request, pk: int):
    return _render_objectives(request, _pi(pk), None)


def _render_objectives(request, pi: PlanningInterval, error):
    user = request.user
    groups = selectors.pi_objectives(pi)
    for group in groups:
        group.may_edit = can_edit_objectives(user, group.team.pk)
        group.add_form = f"add-{group.team.pk}"
        for objective in group.objectives:
            objective.form_id = f"obj-{objective.pk}"
            objective.feature_ids = {feature.pk for feature in objective.features.all()}
    context = {
        "program": pi.program,
        "pi": pi,
        "groups": groups,
        "report": selectors.pi_predictability(pi),
        "features": selectors.pi_features(pi),
        "may_value": can_set_business_value(user),
        "error": error,
        "posted": request.POST if error else {},
    }
    template = T + "objectives.html" + ("#objectives-body" if _partial(request) else "")
    return render(request, template, context, status=(error or {}).get("status", 200))


OBJECTIVE_FORM_FIELDS = ("title", "committed", "planned_value", "actual_value", "features")


@require_POST
def objective_add(request, pk: int):
    pi = _pi(pk)
    team = get_object_or_404(Team, pk=_int(request.POST.get("team")))
    data = request.POST

    def action():
        services.objective_create(
            actor=request.user,
            pi=pi,
            team=team,
            title=data.get("title", ""),
            committed=data.get("committed") == "on",
            planned_value=data.get("planned_value") or None,
            actual_value=data.get("actual_value") or None,
            feature_ids=data.getlist("features"),
        )

    return _act(
        request,
        action,
        form=f"add-{team.pk}",
        fields=OBJECTIVE_FORM_FIELDS,
        done_url=reverse("pi-objectives", args=[pi.pk]),
        render_page=lambda error: _render_objectives(request, pi, error),
    )


@require_POST
def objective_edit(request, pk: int, objective_id: int):
    pi = _pi(pk)
    objective = get_object_or_404(Objective, pk=objective_id, pi=pi)
    data = request.POST
    # The form sends what the user may change; absent fields are left alone.
    changes = {}
    if "title" in data:
        changes.update(
            title=data.get("title", ""),
            committed=data.get("committed") == "on",
            features=data.getlist("features"),
        )
    for name in ("planned_value", "actual_value"):
        if name in data:
            changes[name] = data.get(name) or None

    def action():
        services.objective_update(
            actor=request.user,
            objective=objective,
            changes=changes,
            expected_version=_int(data.get("version")),
        )

    return _act(
        request,
        action,
        form=f"obj-{objective.pk}",
        fields=OBJECTIVE_FORM_FIELDS,
        done_url=reverse("pi-objectives", args=[pi.pk]),
        render_page=lambda error: _render_objectives(request, pi, error),
    )


@require_POST
def objective_remove(request, pk: int, objective_id: int):
    pi = _pi(pk)
    objective = get_object_or_404(Objective.objects.select_related("team"), pk=objective_id, pi=pi)
    return _act(
        request,
        lambda: services.objective_delete(actor=request.user, objective=objective),
        form=f"obj-{objective.pk}",
        fields=(),
        done_url=reverse("pi-objectives", args=[pi.pk]),
        render_page=lambda error: _render_objectives(request, pi, error),
    )


# --- program risks ---------------------------------------------------------------------------


def risks_page(request, pk: int):
    return _render_risks(request, _pi(pk), None)


def _render_risks(request, pi: PlanningInterval, error):
    user = request.user
    risks = selectors.pi_risks(pi)
    for risk in risks:
        risk.may_feed = risk.team_id is not None and can_change_capacity(user, risk.team_id)
        risk.roam_form, risk.edit_form = f"roam-{risk.pk}", f"risk-{risk.pk}"
        risk.feed_form = f"feed-{risk.pk}"
        risk.ticket_keys = ", ".join(sorted(t.key for t in risk.tickets.all()))
    context = {
        "program": pi.program,
        "pi": pi,
        "risks": risks,
        "premortem": selectors.pi_premortem_risks(pi),
        "due": selectors.risks_due_for_review(pi, date.today()),
        "teams": selectors.program_teams(pi.program),
        "sprints": selectors.pi_sprints(pi),
        "people": selectors.people(),
        "may_manage": can_manage_risks(user),
        "states": ProgramRisk.State.choices,
        "levels": ProgramRisk.Level.choices,
        "error": error,
        "posted": request.POST if error else {},
    }
    template = T + "risks.html" + ("#risks-body" if _partial(request) else "")
    return render(request, template, context, status=(error or {}).get("status", 200))


RISK_FORM_FIELDS = (
    "title",
    "description",
    "likelihood",
    "impact",
    "team",
    "expected_delay_days",
    "tickets",
    "state",
    "owner",
    "follow_up",
    "note",
    "from_date",
)


def _risk_action(request, pi, form, action):
    return _act(
        request,
        action,
        form=form,
        fields=RISK_FORM_FIELDS,
        done_url=reverse("pi-risks", args=[pi.pk]),
        render_page=lambda error: _render_risks(request, pi, error),
    )


def _team_or_none(pi: PlanningInterval, value: str):
    return pi.program.teams.filter(pk=_int(value)).first() if value else None


@require_POST
def risk_add(request, pk: int):
    pi = _pi(pk)
    data = request.POST
    return _risk_action(
        request,
        pi,
        "add",
        lambda: services.program_risk_raise(
            actor=request.user,
            pi=pi,
            title=data.get("title", ""),
            description=data.get("description", ""),
            likelihood=_int(data.get("likelihood")),
            impact=_int(data.get("impact")),
            team=_team_or_none(pi, data.get("team", "")),
            expected_delay_days=data.get("expected_delay_days", ""),
            ticket_keys=_keys(data.get("tickets", "")),
        ),
    )


@require_POST
def risk_edit(request, pk: int, risk_id: int):
    pi = _pi(pk)
    risk = get_object_or_404(ProgramRisk, pk=risk_id, pi=pi)
    data = request.POST
    return _risk_action(
        request,
        pi,
        f"risk-{risk.pk}",
        lambda: services.program_risk_update(
            actor=request.user,
            risk=risk,
            changes={
                "title": data.get("title", ""),
                "likelihood": _int(data.get("likelihood")),
                "impact": _int(data.get("impact")),
                "team": _team_or_none(pi, data.get("team", "")),
                "expected_delay_days": data.get("expected_delay_days", ""),
                "tickets": _keys(data.get("tickets", "")),
            },
            expected_version=_int(data.get("version")),
        ),
    )


@require_POST
def risk_roam(request, pk: int, risk_id: int):
    pi = _pi(pk)
    risk = get_object_or_404(ProgramRisk, pk=risk_id, pi=pi)
    data = request.POST

    def action():
        owner_id = data.get("owner") or ""
        services.program_risk_roam(
            actor=request.user,
            risk=risk,
            state=data.get("state", ""),
            owner=User.objects.filter(pk=owner_id).first() if owner_id.isdigit() else None,
            follow_up=_date_or_none(data.get("follow_up", ""), "follow_up"),
            note=data.get("note", ""),
            ticket_keys=_keys(data.get("tickets", "")) or None,
            expected_version=_int(data.get("version")),
        )

    return _risk_action(request, pi, f"roam-{risk.pk}", action)


@require_POST
def risk_feed(request, pk: int, risk_id: int):
    pi = _pi(pk)
    risk = get_object_or_404(ProgramRisk, pk=risk_id, pi=pi)
    data = request.POST
    return _risk_action(
        request,
        pi,
        f"feed-{risk.pk}",
        lambda: services.program_risk_feed(
            actor=request.user,
            risk=risk,
            from_date=data.get("from_date", ""),
            expected_version=_int(data.get("version")),
        ),
    )


@require_POST
def risk_withdraw(request, pk: int, risk_id: int):
    pi = _pi(pk)
    risk = get_object_or_404(ProgramRisk, pk=risk_id, pi=pi)
    return _risk_action(
        request,
        pi,
        f"feed-{risk.pk}",
        lambda: services.program_risk_withdraw(
            actor=request.user, risk=risk, expected_version=_int(request.POST.get("version"))
        ),
    )


@require_POST
def risk_remove(request, pk: int, risk_id: int):
    pi = _pi(pk)
    risk = get_object_or_404(ProgramRisk, pk=risk_id, pi=pi)
    return _risk_action(
        request,
        pi,
        f"risk-{risk.pk}",
        lambda: services.program_risk_delete(actor=request.user, risk=risk),
    )


@require_POST
def risk_take(request, pk: int, source_id: int):
    pi = _pi(pk)
    source = get_object_or_404(Risk.objects.select_related("sprint"), pk=source_id)
    return _risk_action(
        request,
        pi,
        f"take-{source.pk}",
        lambda: services.program_risk_take(actor=request.user, pi=pi, risk=source),
    )


# --- RACI ------------------------------------------------------------------------------------


def raci_page(request, pk: int):
    program = get_object_or_404(Program, pk=pk)
    return _render_raci(request, program, None, editing=_int(request.GET.get("edit")))


def _render_raci(request, program: Program, error, editing: int = 0):
    columns, rows = selectors.raci_matrix(program)
    for row in rows:
        if error and row.activity.pk == editing:
            _posted_cells(row, columns, request.POST)
    context = {
        "program": program,
        "columns": columns,
        "rows": rows,
        "letters": ["R", "A", "C", "I"],
        "may_edit": can_edit_raci(request.user),
        "editing": editing,
        "error": error,
        "posted": request.POST if error else {},
    }
    template = T + "raci.html" + ("#raci-body" if _partial(request) else "")
    return render(request, template, context, status=(error or {}).get("status", 200))


def _posted_cells(row, columns, data) -> None:
    """After a refusal the editor shows what the user sent, not what is stored."""
    row.cells = [(c, (data.get(f"cell_{c.key}") or "").strip().upper()) for c in columns]


def _render_raci_row(request, activity: RaciActivity, *, editing: bool, error=None):
    columns, row = selectors.raci_activity_row(activity)
    if error:
        _posted_cells(row, columns, request.POST)
    context = {
        "program": activity.program,
        "columns": columns,
        "row": row,
        "letters": ["R", "A", "C", "I"],
        "may_edit": can_edit_raci(request.user),
        "editing": activity.pk if editing else 0,
        "error": error,
        "posted": request.POST if error else {},
    }
    return render(
        request, T + "raci.html#raci-row", context, status=(error or {}).get("status", 200)
    )


def _row_cells(data, program: Program) -> dict[str, str]:
    return {
        column.key: data.get(f"cell_{column.key}", "")
        for column in selectors.raci_columns(program)
        if f"cell_{column.key}" in data
    }


@require_POST
def raci_add(request, pk: int):
    program = get_object_or_404(Program, pk=pk)
    data = request.POST
    return _act(
        request,
        lambda: services.raci_activity_create(
            actor=request.user,
            program=program,
            name=data.get("name", ""),
            row=_row_cells(data, program),
        ),
        form="add",
        fields=("name", "row"),
        done_url=reverse("program-raci", args=[program.pk]),
        render_page=lambda error: _render_raci(request, program, error),
    )


def raci_row(request, pk: int, activity_id: int):
    """GET: the row (its editor with ?edit=1). POST: save the whole row; a refusal keeps the
    editor open with the message (nothing written)."""
    program = get_object_or_404(Program, pk=pk)
    activity = get_object_or_404(
        RaciActivity.objects.select_related("program"), pk=activity_id, program=program
    )
    if request.method != "POST":
        if not _partial(request):
            url = reverse("program-raci", args=[program.pk])
            return redirect(f"{url}?edit={activity.pk}" if request.GET.get("edit") else url)
        return _render_raci_row(request, activity, editing=bool(request.GET.get("edit")))
    try:
        services.raci_row_set(
            actor=request.user,
            activity=activity,
            row=_row_cells(request.POST, program),
            name=request.POST.get("name"),
        )
    except DomainError as exc:
        error = {
            "form": f"row-{activity.pk}",
            "field": exc.field if exc.field in ("name", "row") else "",
            "message": exc.message,
            "status": exc.status,
        }
        if not _partial(request):
            return _render_raci(request, program, error, editing=activity.pk)
        return _render_raci_row(request, activity, editing=True, error=error)
    if not _partial(request):
        return redirect("program-raci", pk=program.pk)
    activity.refresh_from_db()
    return _render_raci_row(request, activity, editing=False)


@require_POST
def raci_remove(request, pk: int, activity_id: int):
    program = get_object_or_404(Program, pk=pk)
    activity = get_object_or_404(RaciActivity, pk=activity_id, program=program)
    return _act(
        request,
        lambda: services.raci_activity_delete(actor=request.user, activity=activity),
        form=f"row-{activity.pk}",
        fields=(),
        done_url=reverse("program-raci", args=[program.pk]),
        render_page=lambda error: _render_raci(request, program, error),
    )


# --- decisions -------------------------------------------------------------------------------


def decisions_page(request, pk: int):
    program = get_object_or_404(Program, pk=pk)
    return _render_decisions(request, program, None)


def _render_decisions(request, program: Program, error):
    status = request.GET.get("status", "")
    if status not in Decision.Status.values:
        status = ""
    decisions = selectors.program_decisions(program, status)
    for record in decisions:
        record.form_id = f"dr-{record.number}"
        record.ticket_keys = ", ".join(sorted(t.key for t in record.tickets.all()))
        record.sprint_ids = {s.pk for s in record.sprints.all()}
    context = {
        "program": program,
        "decisions": decisions,
        "status_filter": status,
        "statuses": Decision.Status.choices,
        "sprint_choices": selectors.decision_sprint_choices(program),
        "may_record": can_record_decisions(request.user),
        "today": date.today(),
        "error": error,
        "posted": request.POST if error else {},
    }
    template = T + "decisions.html" + ("#decisions-body" if _partial(request) else "")
    return render(request, template, context, status=(error or {}).get("status", 200))


DECISION_FORM_FIELDS = (
    "title",
    "context",
    "decision",
    "consequences",
    "status",
    "decided_on",
    "tickets",
    "sprints",
    "superseded_by",
)


@require_POST
def decision_add(request, pk: int):
    program = get_object_or_404(Program, pk=pk)
    data = request.POST
    return _act(
        request,
        lambda: services.decision_create(
            actor=request.user,
            program=program,
            title=data.get("title", ""),
            context=data.get("context", ""),
            decision=data.get("decision", ""),
            consequences=data.get("consequences", ""),
            status=data.get("status") or Decision.Status.PROPOSED,
            decided_on=data.get("decided_on") or None,
            ticket_keys=_keys(data.get("tickets", "")),
            sprint_ids=data.getlist("sprints"),
        ),
        form="add",
        fields=DECISION_FORM_FIELDS,
        done_url=reverse("program-decisions", args=[program.pk]),
        render_page=lambda error: _render_decisions(request, program, error),
    )


@require_POST
def decision_edit(request, pk: int, number: int):
    program = get_object_or_404(Program, pk=pk)
    record = get_object_or_404(Decision, program=program, number=number)
    data = request.POST
    changes = {
        name: data.get(name, "")
        for name in ("title", "context", "decision", "consequences", "status", "decided_on")
        if name in data
    }
    if "tickets" in data:
        changes["tickets"] = _keys(data.get("tickets", ""))
    if "sprints_sent" in data:
        changes["sprints"] = data.getlist("sprints")
    if "superseded_by" in data:
        changes["superseded_by"] = data.get("superseded_by") or None
    return _act(
        request,
        lambda: services.decision_update(
            actor=request.user,
            decision=record,
            changes=changes,
            expected_version=_int(data.get("version")),
        ),
        form=f"dr-{record.number}",
        fields=DECISION_FORM_FIELDS,
        done_url=reverse("program-decisions", args=[program.pk]),
        render_page=lambda error: _render_decisions(request, program, error),
    )
