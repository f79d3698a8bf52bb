"""The shared Definition of Done page. One template, one named partial (`dod-body`) that
every action answers with for htmx; plain posts redirect after success.

Each change writes a new version through quality.services.definition_revise with the full
list of criteria in force (codes kept, so evidence recorded under older versions still
counts). The page sends the version it showed; a change made on an older page is refused
with 409 rather than silently applied to a definition the user has not seen.
"""

from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.policy import (
    can_accept_definition_of_done,
    can_edit_definition_of_done,
    ensure_can_edit_definition_of_done,
)
from sprintplan import pages
from sprintplan.errors import Conflict
from teams.models import Team
from tickets.models import Ticket

from . import selectors, services
from .forms import CriterionForm, SeenVersionForm
from .models import Artifact, Criterion, DefinitionOfDone
from .selectors import criteria_of

TEMPLATE = "quality/dod.html"


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


# --- reads (page-shaped; quality.selectors has no read for the history) ---------------------


def definition_history() -> list[DefinitionOfDone]:
    """Every version, newest first, with its authors and criteria count: one query."""
    return list(
        DefinitionOfDone.objects.select_related("created_by", "accepted_by")
        .annotate(criteria_count=Count("criteria"))
        .order_by("-version")
    )


@dataclass
class TeamGroup:
    team: Team
    criteria: list[Criterion]


def grouped_by_team(criteria: list[Criterion]) -> list[TeamGroup]:
    ordered = sorted(criteria, key=lambda c: (c.team.name, c.position, c.pk))
    return [TeamGroup(team, list(rows)) for team, rows in groupby(ordered, key=lambda c: c.team)]


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _labels(values, labels: dict) -> str:
    return ", ".join(str(labels.get(value, value)) for value in values)


def rule_words(criterion: Criterion) -> list[str]:
    """How a criterion reads: "iaa ≥ 0.98", "applies to: Labeling batch tickets", ..."""
    words = []
    if criterion.kind == Criterion.Kind.METRIC:
        words.append(
            f"{criterion.metric_key} {criterion.get_comparator_display()} "
            f"{_number(criterion.threshold)}"
        )
    if criterion.goal_level:
        words.append("goal level: judged once per sprint goal")
    else:
        scope = []
        if criterion.ticket_types:
            types = _labels(criterion.ticket_types, dict(Ticket.Type.choices))
            scope.append(f"{types} tickets")
        if criterion.team_kinds:
            kinds = _labels(criterion.team_kinds, dict(Team.Kind.choices))
            scope.append(f"of {kinds} teams" if scope else f"tickets of {kinds} teams")
        words.append("applies to: " + (" ".join(scope) if scope else "every ticket"))
    if criterion.entry_gate:
        words.append("entry gate: tickets it blocks may not start until it passes")
    if criterion.required_artifacts:
        artifacts = _labels(criterion.required_artifacts, dict(Artifact.Kind.choices))
        words.append(f"needs artifacts: {artifacts.lower()}")
    return words


def criterion_values(criterion: Criterion) -> dict:
    """A criterion in force as definition_revise takes it (its code kept)."""
    return {
        "code": criterion.code,
        "text": criterion.text,
        "kind": criterion.kind,
        "team": criterion.team,
        "metric_key": criterion.metric_key,
        "comparator": criterion.comparator,
        "threshold": criterion.threshold,
        "ticket_types": list(criterion.ticket_types),
        "team_kinds": list(criterion.team_kinds),
        "goal_level": criterion.goal_level,
        "entry_gate": criterion.entry_gate,
        "required_artifacts": list(criterion.required_artifacts),
    }


# --- page ---------------------------------------------------------------------------------


def _context(request, **extra) -> dict:
    history = definition_history()
    current = history[0] if history else None
    criteria = criteria_of(current)
    for criterion in criteria:
        criterion.rule_words = rule_words(criterion)
    seen = current.version if current else 0
    context = {
        "definition": current,
        "groups": grouped_by_team(criteria),
        "history": history,
        "seen_version": seen,
        "can_edit": can_edit_definition_of_done(request.user),
        "can_accept": can_accept_definition_of_done(request.user),
        "form": CriterionForm(initial={"seen_version": seen}),
    }
    context.update(extra)
    return context


def dod_page(request):
    return render(request, TEMPLATE, _context(request))


def _answer(request, status: int, notice: str = "", **extra):
    """Success: redirect (plain post) or the refreshed body (htmx). Failure: the body with
    the error beside its field, with the error's HTTP status."""
    if status == 200 and not _is_partial(request):
        if notice:
            messages.success(request, notice)
        return redirect("dod")
    template = f"{TEMPLATE}#dod-body" if _is_partial(request) else TEMPLATE
    return render(request, template, _context(request, notice=notice, **extra), status=status)


def _check_seen(seen: int) -> DefinitionOfDone | None:
    current = selectors.definition_in_force()
    now = current.version if current else 0
    if seen != now:
        raise Conflict(
            f"The Definition of Done changed while you were looking (now version {now}); "
            "nothing was saved. Check the version in force below and try again.",
            field="seen_version",
        )
    return current


@require_POST
def criterion_add(request):
    _, error = pages.attempt(lambda: ensure_can_edit_definition_of_done(request.user))
    if error is not None:
        return _answer(request, error.status, page_error=error.message)
    form = CriterionForm(request.POST)
    if not form.is_valid():
        return _answer(request, 400, form=form)
    current, error = pages.attempt(lambda: _check_seen(form.cleaned_data["seen_version"]))
    if error is not None:
        return _answer(request, error.status, page_error=error.message, form=form)
    kept = [criterion_values(c) for c in criteria_of(current)]
    new = form.criterion()
    definition, error = pages.attempt(
        lambda: services.definition_revise(
            actor=request.user,
            criteria=[*kept, new],
            note=form.cleaned_data["note"] or f"Added “{new['text']}”.",
        )
    )
    if error is not None:
        form.add_service_error(error, new_index=len(kept))
        return _answer(request, error.status, form=form)
    return _answer(
        request, 200, notice=f"Version {definition.version} written: added “{new['text']}”."
    )


@require_POST
def criterion_remove(request, code: str):
    def remove() -> str:
        ensure_can_edit_definition_of_done(request.user)
        seen = SeenVersionForm(request.POST)
        if not seen.is_valid():
            raise Conflict("Reload the page and try again.", field="seen_version")
        current = _check_seen(seen.cleaned_data["seen_version"])
        criteria = criteria_of(current)
        removed = next((c for c in criteria if c.code == code), None)
        if removed is None:
            raise Conflict(f"No criterion {code!r} is in force.", field="criteria")
        definition = services.definition_revise(
            actor=request.user,
            criteria=[criterion_values(c) for c in criteria if c.code != code],
            note=f"Removed “{removed.text}”.",
        )
        return f"Version {definition.version} written: removed “{removed.text}”."

    notice, error = pages.attempt(remove)
    if error is not None:
        return _answer(request, error.status, page_error=error.message)
    return _answer(request, 200, notice=notice)


@require_POST
def definition_accept(request, version: int):
    definition = get_object_or_404(DefinitionOfDone, version=version)
    _, error = pages.attempt(
        lambda: services.definition_accept(actor=request.user, definition=definition)
    )
    if error is not None:
        return _answer(request, error.status, accept_error=error.message)
    return _answer(request, 200, notice=f"You accepted version {definition.version}.")
