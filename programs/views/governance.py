"""Pages of the governance area: PI objectives and predictability, program risks (ROAM),
the RACI matrix and decision records. Thin: parse, call a service or selector, render.

Every form posts with htmx and gets the page body (or the RACI row) back, refusals
included (4xx, the message beside the field); without htmx a success redirects. Each page
is described once as a `pages.Page`; its create/edit/remove actions are the generic views
of sprintplan.pages, the other actions answer through `Page.answer`."""

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
from sprintplan import pages
from sprintplan.errors import InvalidInput
from sprintplan.pages import CreateView, EditView, PageAction, RemoveView, Target, is_partial
from teams.models import Team

from ..models import Decision, Objective, PlanningInterval, Program, ProgramRisk, RaciActivity
from ..selectors import governance as selectors
from ..services import governance as services

T = "programs/governance/"


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _date_or_none(value: str, field: str):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD).", field=field) from None


def _keys(text: str) -> list[str]:
    return [k.strip() for k in (text or "").replace(";", ",").split(",") if k.strip()]


def _pi(pk: int) -> PlanningInterval:
    return get_object_or_404(PlanningInterval.objects.select_related("program"), pk=pk)


def _program(pk: int) -> Program:
    return get_object_or_404(Program, pk=pk)


def _pi_page(render_page, url_name: str, fields: tuple[str, ...]) -> pages.Page:
    return pages.Page(
        owner=_pi, owner_field="pi", render=render_page, url_name=url_name, fields=fields
    )


def _program_page(render_page, url_name: str, fields: tuple[str, ...]) -> pages.Page:
    return pages.Page(
        owner=_program, owner_field="program", render=render_page, url_name=url_name, fields=fields
    )


def _page(request, name: str, block: str, context: dict, error):
    """The page, or only its body for htmx; what was posted comes back with a refusal."""
    context.update(error=error, posted=request.POST if error else {})
    template = T + name + (f"#{block}" if is_partial(request) else "")
    return render(request, template, context)


# --- objectives ------------------------------------------------------------------------------


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
    }
    return _page(request, "objectives.html", "objectives-body", context, error)


OBJECTIVES = _pi_page(
    _render_objectives,
    "pi-objectives",
    ("title", "committed", "planned_value", "actual_value", "features"),
)


def objectives_page(request, pk: int):
    return _render_objectives(request, _pi(pk), None)


@require_POST
def objective_add(request, pk: int):
    pi = _pi(pk)
    team = get_object_or_404(Team, pk=_int(request.POST.get("team")))
    data = request.POST
    return OBJECTIVES.answer(
        request,
        pi,
        lambda: services.objective_create(
            actor=request.user,
            pi=pi,
            team=team,
            title=data.get("title", ""),
            committed=data.get("committed") == "on",
            planned_value=data.get("planned_value") or None,
            actual_value=data.get("actual_value") or None,
            feature_ids=data.getlist("features"),
        ),
        form=f"add-{team.pk}",
    )


def _objective_changes(data, pi, objective) -> dict:
    """The form sends what the user may change; absent fields are left alone."""
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
    return changes


OBJECTIVE = Target(
    Objective.objects.select_related("team"), "objective_id", "obj-{obj.pk}", "objective"
)
objective_edit = EditView.as_view(
    page=OBJECTIVES, target=OBJECTIVE, service=services.objective_update, parse=_objective_changes
)
objective_remove = RemoveView.as_view(
    page=OBJECTIVES, target=OBJECTIVE, service=services.objective_delete
)


# --- program risks ---------------------------------------------------------------------------


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
    }
    return _page(request, "risks.html", "risks-body", context, error)


RISKS = _pi_page(
    _render_risks,
    "pi-risks",
    (
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
    ),
)


def risks_page(request, pk: int):
    return _render_risks(request, _pi(pk), None)


def _team_or_none(pi: PlanningInterval, value: str):
    return pi.program.teams.filter(pk=_int(value)).first() if value else None


def _risk_fields(data, pi) -> dict:
    """What the add and edit forms share."""
    return {
        "title": data.get("title", ""),
        "likelihood": _int(data.get("likelihood")),
        "impact": _int(data.get("impact")),
        "team": _team_or_none(pi, data.get("team", "")),
        "expected_delay_days": data.get("expected_delay_days", ""),
    }


def _risk_new(data, pi, _owner) -> dict:
    return {
        **_risk_fields(data, pi),
        "description": data.get("description", ""),
        "ticket_keys": _keys(data.get("tickets", "")),
    }


def _risk_changes(data, pi, _risk) -> dict:
    return {**_risk_fields(data, pi), "tickets": _keys(data.get("tickets", ""))}


RISK = Target(ProgramRisk, "risk_id", "risk-{obj.pk}", "risk")
risk_add = CreateView.as_view(page=RISKS, service=services.program_risk_raise, parse=_risk_new)
risk_edit = EditView.as_view(
    page=RISKS, target=RISK, service=services.program_risk_update, parse=_risk_changes
)
risk_remove = RemoveView.as_view(page=RISKS, target=RISK, service=services.program_risk_delete)


def _roam(data, _pi, _risk) -> dict:
    owner_id = data.get("owner") or ""
    return {
        "state": data.get("state", ""),
        "owner": User.objects.filter(pk=owner_id).first() if owner_id.isdigit() else None,
        "follow_up": _date_or_none(data.get("follow_up", ""), "follow_up"),
        "note": data.get("note", ""),
        "ticket_keys": _keys(data.get("tickets", "")) or None,
    }


def _risk_action(form: str, service, parse=None):
    """ROAM, feed to or withdraw from the forecast: one risk at the version the form saw."""
    return PageAction.as_view(
        page=RISKS,
        target=Target(ProgramRisk, "risk_id", form, "risk"),
        versioned=True,
        service=service,
        parse=parse,
    )


risk_roam = _risk_action("roam-{obj.pk}", services.program_risk_roam, _roam)
risk_feed = _risk_action(
    "feed-{obj.pk}",
    services.program_risk_feed,
    lambda data, _pi, _risk: {"from_date": data.get("from_date", "")},
)
risk_withdraw = _risk_action("feed-{obj.pk}", services.program_risk_withdraw)


@require_POST
def risk_take(request, pk: int, source_id: int):
    pi = _pi(pk)
    source = get_object_or_404(Risk.objects.select_related("sprint"), pk=source_id)
    return RISKS.answer(
        request,
        pi,
        lambda: services.program_risk_take(actor=request.user, pi=pi, risk=source),
        form=f"take-{source.pk}",
    )


# --- RACI ------------------------------------------------------------------------------------

RACI_FORM_FIELDS = ("name", "row")


def raci_page(request, pk: int):
    return _render_raci(request, _program(pk), None, editing=_int(request.GET.get("edit")))


def _raci_context(request, program: Program, columns, editing: int) -> dict:
    return {
        "program": program,
        "columns": columns,
        "letters": ["R", "A", "C", "I"],
        "may_edit": can_edit_raci(request.user),
        "editing": editing,
    }


def _render_raci(request, program: Program, error, editing: int = 0):
    columns, rows = selectors.raci_matrix(program)
    for row in rows:
        if error and row.activity.pk == editing:
            _posted_cells(row, columns, request.POST)
    context = {**_raci_context(request, program, columns, editing), "rows": rows}
    return _page(request, "raci.html", "raci-body", context, error)


def _posted_cells(row, columns, data) -> None:
    """After a refusal the editor shows what the user sent, not what is stored."""
    row.cells = [(c, (data.get(f"cell_{c.key}") or "").strip().upper()) for c in columns]


def _render_raci_row(request, activity: RaciActivity, *, editing: bool, error=None):
    columns, row = selectors.raci_activity_row(activity)
    if error:
        _posted_cells(row, columns, request.POST)
    context = _raci_context(request, activity.program, columns, activity.pk if editing else 0)
    context.update(row=row, error=error, posted=request.POST if error else {})
    return render(request, T + "raci.html#raci-row", context)


def _row_cells(data, program: Program) -> dict[str, str]:
    return {
        column.key: data.get(f"cell_{column.key}", "")
        for column in selectors.raci_columns(program)
        if f"cell_{column.key}" in data
    }


RACI = _program_page(_render_raci, "program-raci", RACI_FORM_FIELDS)


def _raci_new(data, program, _owner) -> dict:
    return {"name": data.get("name", ""), "row": _row_cells(data, program)}


raci_add = CreateView.as_view(page=RACI, service=services.raci_activity_create, parse=_raci_new)
raci_remove = RemoveView.as_view(
    page=RACI,
    target=Target(RaciActivity, "activity_id", "row-{obj.pk}", "activity"),
    service=services.raci_activity_delete,
)


def raci_row(request, pk: int, activity_id: int):
    """GET: the row (its editor with ?edit=1). POST: save the whole row; a refusal keeps the
    editor open with the message (nothing written)."""
    program = _program(pk)
    activity = get_object_or_404(
        RaciActivity.objects.select_related("program"), pk=activity_id, program=program
    )
    if request.method != "POST":
        if not is_partial(request):
            url = reverse("program-raci", args=[program.pk])
            return redirect(f"{url}?edit={activity.pk}" if request.GET.get("edit") else url)
        return _render_raci_row(request, activity, editing=bool(request.GET.get("edit")))

    def answer(error):
        if error and not is_partial(request):
            return _render_raci(request, program, error, editing=activity.pk)
        if error is None:
            activity.refresh_from_db()
        return _render_raci_row(request, activity, editing=bool(error), error=error)

    return pages.submit(
        request,
        lambda: services.raci_row_set(
            actor=request.user,
            activity=activity,
            row=_row_cells(request.POST, program),
            name=request.POST.get("name"),
        ),
        render=answer,
        done=reverse("program-raci", args=[program.pk]),
        form=f"row-{activity.pk}",
        fields=RACI_FORM_FIELDS,
    )


# --- decisions -------------------------------------------------------------------------------


def decisions_page(request, pk: int):
    return _render_decisions(request, _program(pk), None)


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
    }
    return _page(request, "decisions.html", "decisions-body", context, error)


DECISIONS = _program_page(_render_decisions, "program-decisions", tuple(services.DECISION_FIELDS))


def _decision_sent(data) -> dict:
    """The decision fields the form sent, read by their kind. A multiple choice sends
    nothing when emptied, so an edit form marks that it carried it (`<name>_sent`)."""
    sent = {}
    for name, kind in services.DECISION_FIELDS.items():
        if kind == "ids":
            if f"{name}_sent" in data:
                sent[name] = data.getlist(name)
        elif kind == "keys":
            if name in data:
                sent[name] = _keys(data[name])
        elif name in data:
            sent[name] = (data[name] or None) if kind == "number" else data[name]
    return sent


def _decision_new(data, program, _owner) -> dict:
    sent = _decision_sent(data)
    if not sent.get("status"):
        sent.pop("status", None)  # the service's default: proposed
    sent.pop("superseded_by", None)  # a new record supersedes nothing yet
    sent.pop("sprints", None)
    tickets = sent.pop("tickets", [])
    return {
        **dict.fromkeys(("title", "context", "decision"), ""),  # required: "" is refused
        **sent,
        "ticket_keys": tickets,
        "sprint_ids": data.getlist("sprints"),
    }


decision_add = CreateView.as_view(
    page=DECISIONS, service=services.decision_create, parse=_decision_new
)
decision_edit = EditView.as_view(
    page=DECISIONS,
    target=Target(Decision, {"number": "number"}, "dr-{obj.number}", "decision"),
    service=services.decision_update,
    parse=lambda data, _program, _record: _decision_sent(data),
)
