"""The Scrum master's import pages: start an import, map, preview, apply with progress, and
the exports. One template (`imports/job.html`) with a named partial (`job-body`) that the
page polls with htmx while a task works."""

import json
from datetime import date

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.policy import can_import
from sprintplan import pages
from sprints.models import Sprint
from teams.models import Team
from tickets.models import Ticket

from . import plan, selectors, services, sprintplan_format
from .models import ImportJob

FORBIDDEN = "Only the Scrum master imports backlogs from Jira or exports them."
WORKING = {ImportJob.State.READING, ImportJob.State.PREVIEWING, ImportJob.State.APPLYING}


def _forbidden(request):
    return render(request, "imports/forbidden.html", {"reason": FORBIDDEN}, status=403)


def import_list(request):
    if not can_import(request.user):
        return _forbidden(request)
    query = request.GET.get("jira_key", "").strip()
    context = {
        "jobs": selectors.recent_jobs(),
        "sources": ImportJob.Source,
        "jira_key": query,
        "found": selectors.tickets_by_jira_key(query) if query else None,
    }
    return render(request, "imports/list.html", context)


@require_POST
def import_create(request):
    if not can_import(request.user):
        return _forbidden(request)
    data = request.POST
    return pages.submit(
        request,
        lambda: services.import_create(
            actor=request.user,
            source=data.get("source", ""),
            upload=request.FILES.get("file"),
            site=data.get("site", ""),
            jql=data.get("jql", ""),
            user=data.get("user", ""),
            token=data.get("token", ""),
        ),
        render=lambda error: render(
            request,
            "imports/list.html",
            {
                "jobs": selectors.recent_jobs(),
                "sources": ImportJob.Source,
                "error": error,
                "form": data,
            },
        ),
        done=lambda job: reverse("import-detail", args=[job.pk]),
        rerender=False,
    )


PHASE_WORDS = {
    "teams": "setting up teams",
    "sprints": "sprints",
    "tickets": "tickets",
    "parents": "parents and sub-tasks",
    "links": "blocking links",
    "events": "history",
    "fetching issues": "fetching issues from Jira",
}


def _day(value: str) -> str:
    try:
        return date.fromisoformat(value).strftime("%b %-d, %Y")
    except (TypeError, ValueError):
        return value or "—"


def _context(job: ImportJob, error=None) -> dict:
    mapping = job.mapping or {}
    found = job.catalogue or {}
    return {
        "job": job,
        "working": job.state in WORKING,
        "percent": int(job.done * 100 / job.total) if job.total else 0,
        "eta": services.eta_seconds(job),
        "error": error,
        "teams": Team.objects.order_by("name"),
        "users": User.objects.filter(is_active=True).order_by("username"),
        "status_choices": [(v, label) for v, label in Ticket.Status.choices],
        "type_choices": Ticket.Type.choices,
        "link_choices": [
            ("blocks", "Blocking, as its words say (“A blocks B”: A first)"),
            ("blocked_by", "Blocking, reversed (“A depends on B”: B first)"),
            ("ignore", "Not blocking: leave out"),
        ],
        "projects": [
            (project, count, mapping.get("teams", {}).get(project, f"new:{project}"))
            for project, count in sorted(found.get("projects", {}).items())
        ],
        "statuses": [
            (
                name,
                _category_words(category),
                mapping.get("statuses", {}).get(name, ""),
                dict(Ticket.Status.choices).get(plan.CATEGORY_DEFAULTS.get(category, ""), ""),
            )
            for name, category in sorted(found.get("statuses", {}).items())
        ],
        "types": [
            (name, count, mapping.get("types", {}).get(name, plan.default_type(name)))
            for name, count in sorted(found.get("types", {}).items())
        ],
        "links": [
            (name, verbs, mapping.get("link_types", {}).get(name, "ignore"))
            for name, verbs in sorted(found.get("link_types", {}).items())
        ],
        "people": [
            (ref, values[0], mapping.get("users", {}).get(ref))
            for ref, values in sorted(found.get("people", {}).items(), key=lambda p: p[1][0])
        ],
        "point_fields": found.get("point_fields", []),
        "phase_words": PHASE_WORDS.get(job.phase, job.phase),
        "preview_sprints": [
            {
                **row,
                "start": _day(row["start"]),
                "end": _day(row["end"]),
                "state": dict(Sprint.State.choices).get(row["state"], row["state"]),
            }
            for row in (job.preview or {}).get("sprints", [])
        ],
        "preview_tickets": [
            {
                **row,
                "type": dict(Ticket.Type.choices).get(row["type"], row["type"]),
                "status": dict(Ticket.Status.choices).get(row["status"], row["status"]),
            }
            for row in (job.preview or {}).get("tickets", [])
        ],
    }


def _category_words(category: str) -> str:
    return {"new": "To do", "indeterminate": "In progress", "done": "Done"}.get(
        category, "No category"
    )


def import_detail(request, job_id: int):
    if not can_import(request.user):
        return _forbidden(request)
    job = get_object_or_404(ImportJob.objects.defer("payload", "plan"), pk=job_id)
    template = "imports/job.html#job-body" if request.htmx else "imports/job.html"
    return render(request, template, _context(job))


@require_POST
def import_map(request, job_id: int):
    if not can_import(request.user):
        return _forbidden(request)
    job = get_object_or_404(ImportJob.objects.defer("payload", "plan"), pk=job_id)
    post = request.POST
    mapping = {
        "teams": {
            p: post.get(f"team:{p}")
            for p in job.catalogue.get("projects", {})
            if post.get(f"team:{p}")
        },
        "statuses": {s: post.get(f"status:{s}", "") for s in job.catalogue.get("statuses", {})},
        "types": {
            t: post.get(f"type:{t}")
            for t in job.catalogue.get("types", {})
            if post.get(f"type:{t}")
        },
        "link_types": {
            k: post.get(f"link:{k}")
            for k in job.catalogue.get("link_types", {})
            if post.get(f"link:{k}")
        },
        "users": {
            r: int(post[f"user:{r}"]) if post.get(f"user:{r}", "").isdigit() else None
            for r in job.catalogue.get("people", {})
        },
        "points_field": post.get("points_field", ""),
        "item_teams": post.getlist("item_teams"),
    }
    if post.get("sprint_days"):
        mapping["sprint_days"] = post["sprint_days"]
    return _job_step(
        request, job, lambda: services.import_map(actor=request.user, job=job, mapping=mapping)
    )


@require_POST
def import_apply(request, job_id: int):
    if not can_import(request.user):
        return _forbidden(request)
    job = get_object_or_404(ImportJob.objects.defer("payload", "plan"), pk=job_id)
    return _job_step(request, job, lambda: services.import_apply(actor=request.user, job=job))


def _job_step(request, job: ImportJob, step) -> HttpResponse:
    """A step of the import: the job's page again with the refusal, or the job's page."""
    return pages.submit(
        request,
        step,
        render=lambda error: render(request, "imports/job.html", _context(job, error)),
        done=reverse("import-detail", args=[job.pk]),
        rerender=False,
    )


def export_json(request):
    if not can_import(request.user):
        return _forbidden(request)
    sprint = None
    if request.GET.get("sprint"):
        sprint = get_object_or_404(Sprint, pk=request.GET["sprint"])
    response = JsonResponse(selectors.export_document(sprint), json_dumps_params={"indent": 1})
    response["Content-Disposition"] = 'attachment; filename="sprintplan-export.json"'
    return response


def export_csv(request):
    if not can_import(request.user):
        return _forbidden(request)
    response = HttpResponse(selectors.export_jira_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="sprintplan-jira.csv"'
    return response


def export_csv_config(request):
    if not can_import(request.user):
        return _forbidden(request)
    response = HttpResponse(
        json.dumps(sprintplan_format.importer_config(), indent=1), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="sprintplan-jira-import-config.json"'
    return response
