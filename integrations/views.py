"""Webhook receivers and the Scrum master's integrations page.

Receivers are authenticated by the integration's secret (not by login), so they are exempt
from CSRF and the login requirement; they answer fast and leave processing to a task.

The page is one template with a named partial (`integrations-body`) that the create and
rotate actions answer with. A new secret and API token are shown exactly once: in the
answer to the POST that made them. That answer is the page itself (also for a plain,
non-htmx post: no redirect), sent with `Cache-Control: no-store`, because the redirect
pattern would need to park the secret in the session or a message cookie until the next
GET. Every later render shows no secret.
"""

from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.policy import can_manage_integrations, team_roles
from sprintplan import pages
from sprintplan.errors import DomainError
from tickets.models import Ticket

from . import services, wandb
from .forms import DatasetLinkForm, IntegrationEditForm, IntegrationForm, ProjectLinkForm
from .models import Delivery, Integration, LabelStudioProject, ProdigyDataset

# One answer for every request without valid credentials, whether the integration does not
# exist, is paused or deleted, or the secret or signature is wrong: ids cannot be probed.
UNAUTHENTICATED = {"code": "not_authenticated", "detail": "Missing or wrong credentials."}


def _receiver(kind: str, route: str = ""):
    @csrf_exempt
    @login_not_required
    @require_POST
    def receive(request: HttpRequest, integration_id: int) -> JsonResponse:
        integration = (
            Integration.objects.select_related("team")
            .filter(pk=integration_id, kind=kind, is_active=True, deleted_at=None)
            .first()
        )
        try:
            body = _read_body(request)
        except BodyTooLarge as error:
            if integration is not None:
                services.rejection_count(integration=integration)
            return JsonResponse(error.as_dict(), status=413)
        services.ensure_background_running()
        if integration is None:
            services.unknown_integration_seen(integration_id=integration_id, kind=kind)
            return JsonResponse(UNAUTHENTICATED, status=401)
        try:
            parts = _multipart_parts(request, body)
        except (UnicodeDecodeError, MultiPartParserError, SuspiciousOperation):
            error = {"code": "malformed", "detail": "Form fields and files must be UTF-8 text."}
            return JsonResponse(error, status=400)
        incoming = services.Incoming(
            headers=dict(request.headers),
            body=body,
            params=request.GET.dict(),
            parts=parts,
            route=route,
        )
        try:
            received = services.receive(integration=integration, incoming=incoming)
        except services.NotAuthenticated:
            return JsonResponse(UNAUTHENTICATED, status=401)
        except DomainError as error:
            return JsonResponse(error.as_dict(), status=error.status)
        delivery = received.delivery
        body = {"delivery": delivery.pk, "status": delivery.status, "duplicate": received.duplicate}
        return JsonResponse(body, status=200 if received.duplicate else 202)

    return receive


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        self.limit = limit

    def as_dict(self) -> dict:
        return {
            "code": "too_large",
            "detail": f"A delivery may be at most {self.limit // (1024 * 1024)} MB.",
            "limit": self.limit,
        }


def body_limit() -> int:
    return int(getattr(settings, "INTEGRATIONS_MAX_BODY_BYTES", 10 * 1024 * 1024))


def _read_body(request: HttpRequest) -> bytes:
    """The raw body up to the integrations' own limit (above Django's 2.5 MB default for
    form posts: a 5,000-task Label Studio delivery is about 2.6 MB). Read from the stream,
    so Django's form-size check does not apply here."""
    limit = body_limit()
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > limit:
        raise BodyTooLarge(limit)
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge(limit)
    return body


def _multipart_parts(request: HttpRequest, body: bytes) -> dict[str, list[str]] | None:
    """A multipart form's fields and files as text by field name, parsed from the body
    already read (which is what is stored)."""
    if not request.content_type.startswith("multipart/"):
        return None
    fields, files = MultiPartParser(
        request.META, BytesIO(body), request.upload_handlers, request.encoding
    ).parse()
    parts: dict[str, list[str]] = {}
    for name, values in fields.lists():
        parts.setdefault(name, []).extend(values)
    for name, uploaded in files.lists():
        parts.setdefault(name, []).extend(f.read().decode("utf-8") for f in uploaded)
    return parts


label_studio_webhook = _receiver(Integration.Kind.LABEL_STUDIO)
mlflow_webhook = _receiver(Integration.Kind.MLFLOW)
junit_upload = _receiver(Integration.Kind.JUNIT)
wandb_webhook = _receiver(Integration.Kind.WANDB)
wandb_summary_upload = _receiver(Integration.Kind.WANDB, route="summary")
dvc_upload = _receiver(Integration.Kind.DVC)
prodigy_upload = _receiver(Integration.Kind.PRODIGY)


# --- the integrations page (Scrum master; team leads for their teams) -----------------------

TEMPLATE = "integrations/list.html"
DELIVERIES_TEMPLATE = "integrations/deliveries.html"
RECENT_DELIVERIES = 10
DELIVERIES_PER_PAGE = 25
FORBIDDEN = (
    "Only the Scrum master sets up integrations (Label Studio, MLflow, W&B, DVC, Prodigy, CI "
    "uploads, scripts); team leads see those that feed their team. Ask your Scrum master if "
    "your team needs one."
)


def visible_integrations(user):
    """The Scrum master sees every integration, a team lead those feeding a team they lead."""
    rows = Integration.objects.filter(deleted_at=None)
    if can_manage_integrations(user):
        return rows
    led = [team for team, role in team_roles(user).items() if role == "lead"]
    return rows.filter(team_id__in=led) if led else rows.none()


def integrations_with_recent_deliveries(user) -> list[Integration]:
    """The integrations the user may see, each with its team, its last 10 deliveries that
    were not rejected (rejections are counted instead), its Label Studio projects and
    Prodigy datasets: a fixed number of queries whatever the number of rows.

    The deliveries come from one prefetch of a sliced queryset: Django turns the slice into
    ROW_NUMBER() OVER (PARTITION BY integration_id ORDER BY received_at DESC, id DESC) and
    keeps rows 1-10 of each partition (SQLite and PostgreSQL alike), so no delivery beyond
    the tenth is read. Bodies and headers are not loaded.
    """
    recent = (
        Delivery.objects.exclude(status=Delivery.Status.REJECTED)
        .order_by("-received_at", "-id")
        .only(
            "id", "integration_id", "received_at", "event", "status", "error", "attempts",
            "next_attempt_at",
        )[:RECENT_DELIVERIES]
    )  # fmt: skip
    return list(
        visible_integrations(user)
        .select_related("team")
        .order_by("name")
        .prefetch_related(
            Prefetch("deliveries", queryset=recent, to_attr="recent_deliveries"),
            Prefetch(
                "label_studio_projects",
                queryset=LabelStudioProject.objects.select_related("ticket"),
                to_attr="projects",
            ),
            Prefetch(
                "prodigy_datasets",
                queryset=ProdigyDataset.objects.select_related("ticket"),
                to_attr="datasets",
            ),
        )
    )


def endpoint_url(request, integration: Integration) -> str:
    """Where the integration sends: its webhook, or the evidence API for the API kind."""
    from .urls import WEBHOOK_URL_NAMES  # urls imports this module

    route = WEBHOOK_URL_NAMES.get(integration.kind)
    path = reverse(route, args=[integration.pk]) if route else reverse("api:evidence-list")
    return request.build_absolute_uri(path)


@dataclass(frozen=True)
class Revealed:
    """A secret (and, on creation, the API token) to show once."""

    integration: Integration
    endpoint: str
    secret: str
    api_token: str = ""
    created: bool = False


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _forbidden(request):
    return render(request, "integrations/forbidden.html", {"reason": FORBIDDEN}, status=403)


def _may_see_page(user) -> bool:
    return can_manage_integrations(user) or any(
        role == "lead" for role in team_roles(user).values()
    )


def _labeling_batches(integrations) -> dict[int, list[Ticket]]:
    """Open labeling batches of the teams shown, for the link forms (one query)."""
    team_ids = {i.team_id for i in integrations if i.kind in LINKED_KINDS}
    found: dict[int, list[Ticket]] = {}
    if not team_ids:
        return found
    rows = (
        Ticket.objects.filter(team_id__in=team_ids, type=Ticket.Type.LABELING_BATCH)
        .exclude(status=Ticket.Status.DONE)
        .order_by("key")
        .only("id", "key", "title", "team_id", "size", "progress")
    )
    for ticket in rows:
        found.setdefault(ticket.team_id, []).append(ticket)
    return found


LINKED_KINDS = {Integration.Kind.LABEL_STUDIO, Integration.Kind.PRODIGY}


def _render(request, status: int = 200, *, form=None, revealed=None, **extra):
    integrations = integrations_with_recent_deliveries(request.user)
    batches = _labeling_batches(integrations)
    manager = can_manage_integrations(request.user)
    for integration in integrations:
        integration.endpoint = endpoint_url(request, integration)
        integration.batches = batches.get(integration.team_id, [])
        integration.may_link = manager or team_roles(request.user).get(integration.team_id) == (
            "lead"
        )
        integration.edit_form = IntegrationEditForm.for_integration(integration)
        integration.open_form = ""
        for key, attribute in (
            ("failed_edit", "edit_form"),
            ("failed_link", "link_form"),
            ("failed_dataset", "dataset_form"),
            ("link_preview", "preview"),
        ):
            target = extra.get(key)
            if target and target[0] == integration.pk:
                setattr(integration, attribute, target[1])
                integration.open_form = attribute
    context = {
        "integrations": integrations,
        "form": form or IntegrationForm(),
        "revealed": revealed,
        "recent_limit": RECENT_DELIVERIES,
        "wandb_template": wandb.template_json(),
        "may_manage": manager,
        **extra,
    }
    template = f"{TEMPLATE}#integrations-body" if _is_partial(request) else TEMPLATE
    response = render(request, template, context, status=status)
    if revealed is not None:
        add_never_cache_headers(response)  # the secret must not sit in any cache
    return response


def integration_list(request):
    if not _may_see_page(request.user):
        return _forbidden(request)
    services.ensure_background_running()
    return _render(request)


@require_POST
def integration_create(request):
    if not can_manage_integrations(request.user):
        return _forbidden(request)
    form = IntegrationForm(request.POST)
    if not form.is_valid():
        return _render(request, 400, form=form)
    created, refused = _form_call(
        request,
        form,
        "form",
        lambda: services.integration_create(
            actor=request.user,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            team=form.cleaned_data["team"],
            config=form.config(),
        ),
    )
    if refused:
        return refused
    integration = created.integration
    revealed = Revealed(
        integration=integration,
        endpoint=endpoint_url(request, integration),
        secret=created.secret,
        api_token=created.api_token,
        created=True,
    )
    return _render(request, revealed=revealed)


def _form_call(request, form, failed: str, call, integration=None):
    """One service call for a form on the page: (what it returned, None), or (None, the
    page again with the refusal beside the form's field, under the context name `failed`:
    the form itself, or (integration id, form) for a form inside an integration's card)."""
    result, error = pages.attempt(call)
    if error is None:
        return result, None
    form.add_service_error(error)
    shown = form if integration is None else (integration.pk, form)
    return None, _render(request, error.status, **{failed: shown})


def _managed(request, integration_id: int):
    return get_object_or_404(
        Integration.objects.select_related("team"), pk=integration_id, deleted_at=None
    )


@require_POST
def integration_rotate_secret(request, integration_id: int):
    if not can_manage_integrations(request.user):
        return _forbidden(request)
    integration = _managed(request, integration_id)
    secret, error = pages.attempt(
        lambda: services.integration_rotate_secret(actor=request.user, integration=integration)
    )
    if error is not None:
        return _render(request, error.status, page_error=error.message)
    revealed = Revealed(
        integration=integration, endpoint=endpoint_url(request, integration), secret=secret
    )
    return _render(request, revealed=revealed)


@require_POST
def integration_edit(request, integration_id: int):
    """Rename or correct the configuration."""
    if not can_manage_integrations(request.user):
        return _forbidden(request)
    integration = _managed(request, integration_id)
    form = IntegrationEditForm(request.POST, integration=integration)
    if not form.is_valid():
        return _render(request, 400, failed_edit=(integration.pk, form))
    _, refused = _form_call(
        request,
        form,
        "failed_edit",
        lambda: services.integration_update(
            actor=request.user, integration=integration, changes=form.changes()
        ),
        integration,
    )
    if refused:
        return refused
    return _render(request, page_message=f"“{form.cleaned_data['name']}” saved.")


@require_POST
def integration_pause(request, integration_id: int):
    """Pause (deliveries refused until resumed) or resume; `active` says which."""
    if not can_manage_integrations(request.user):
        return _forbidden(request)
    integration = _managed(request, integration_id)
    active = request.POST.get("active") == "1"
    services.integration_update(
        actor=request.user, integration=integration, changes={"is_active": active}
    )
    verb = "resumed" if active else "paused: its deliveries are refused until you resume it"
    return _render(request, page_message=f"“{integration.name}” {verb}.")


@require_POST
def integration_delete(request, integration_id: int):
    if not can_manage_integrations(request.user):
        return _forbidden(request)
    integration = _managed(request, integration_id)
    services.integration_delete(actor=request.user, integration=integration)
    return _render(
        request,
        page_message=f"“{integration.name}” deleted. What it recorded (evidence, artifacts, "
        "progress) stays.",
    )


# Label Studio projects and Prodigy datasets: linked by the team's lead ---------------------


def _linkable(request, integration_id: int):
    integration = get_object_or_404(
        visible_integrations(request.user).select_related("team"), pk=integration_id
    )
    return integration


@require_POST
def project_link_preview(request, integration_id: int):
    """Step 1: say what linking will do to the ticket's progress; nothing is written."""
    if not _may_see_page(request.user):
        return _forbidden(request)
    integration = _linkable(request, integration_id)
    form = ProjectLinkForm(request.POST, integration=integration)
    if not form.is_valid():
        return _render(request, 400, failed_link=(integration.pk, form))
    preview, refused = _form_call(
        request,
        form,
        "failed_link",
        lambda: services.label_studio_link_preview(
            actor=request.user,
            integration=integration,
            project_id=form.cleaned_data["project_id"],
            ticket=form.cleaned_data["ticket"],
        ),
        integration,
    )
    if refused:
        return refused
    return _render(request, link_preview=(integration.pk, preview))


@require_POST
def project_link(request, integration_id: int):
    """Step 2: link, with the progress rule the lead chose on the preview."""
    if not _may_see_page(request.user):
        return _forbidden(request)
    integration = _linkable(request, integration_id)
    form = ProjectLinkForm(request.POST, integration=integration)
    if not form.is_valid():
        return _render(request, 400, failed_link=(integration.pk, form))
    data = form.cleaned_data
    link, refused = _form_call(
        request,
        form,
        "failed_link",
        lambda: services.label_studio_project_link(
            actor=request.user,
            integration=integration,
            project_id=data["project_id"],
            ticket=data["ticket"],
            keep_manual_progress=data["progress"] != "replace",
            replace=True,
        ),
        integration,
    )
    if refused:
        return refused
    return _render(
        request,
        page_message=f"Label Studio project {link.project_id} now feeds {link.ticket.key}.",
    )


@require_POST
def project_unlink(request, integration_id: int, link_id: int):
    if not _may_see_page(request.user):
        return _forbidden(request)
    integration = _linkable(request, integration_id)
    link = get_object_or_404(
        LabelStudioProject.objects.select_related("ticket"), pk=link_id, integration=integration
    )
    _, error = pages.attempt(
        lambda: services.label_studio_project_unlink(actor=request.user, link=link)
    )
    if error is not None:
        return _render(request, error.status, page_error=error.message)
    return _render(
        request, page_message=f"Label Studio project {link.project_id} no longer feeds a ticket."
    )


@require_POST
def dataset_link(request, integration_id: int):
    if not _may_see_page(request.user):
        return _forbidden(request)
    integration = _linkable(request, integration_id)
    form = DatasetLinkForm(request.POST, integration=integration)
    if not form.is_valid():
        return _render(request, 400, failed_dataset=(integration.pk, form))
    link, refused = _form_call(
        request,
        form,
        "failed_dataset",
        lambda: services.prodigy_dataset_link(
            actor=request.user, integration=integration, **form.cleaned_data
        ),
        integration,
    )
    if refused:
        return refused
    return _render(
        request, page_message=f"Prodigy dataset {link.dataset} now feeds {link.ticket.key}."
    )


# Deliveries ----------------------------------------------------------------------------------


@require_POST
def delivery_reprocess(request, delivery_id: int):
    if not _may_see_page(request.user):
        return _forbidden(request)
    delivery = get_object_or_404(
        Delivery.objects.select_related("integration__team").filter(
            integration__in=visible_integrations(request.user)
        ),
        pk=delivery_id,
    )
    _, error = pages.attempt(
        lambda: services.delivery_reprocess(actor=request.user, delivery=delivery)
    )
    if error is not None:
        return _render(request, error.status, page_error=error.message)
    if request.POST.get("next") == "deliveries":
        return redirect("integration-deliveries", delivery.integration_id)
    return _render(
        request,
        page_message=f"Delivery {delivery.pk} of “{delivery.integration.name}” is being "
        "processed again; its status updates here.",
    )


DELIVERY_FILTERS = {
    "": "Accepted, processed and failed",
    "failed": "Failed",
    "processed": "Processed",
    "rejected": "Rejected (latest sample)",
}


def integration_deliveries(request, integration_id: int):
    """Every delivery of one integration, newest first, 25 a page; rejected requests only
    when asked for (they are counted on the integration)."""
    if not _may_see_page(request.user):
        return _forbidden(request)
    integration = get_object_or_404(
        visible_integrations(request.user).select_related("team"), pk=integration_id
    )
    wanted = request.GET.get("status", "")
    if wanted not in DELIVERY_FILTERS:
        wanted = ""
    rows = integration.deliveries.order_by("-received_at", "-id").defer("body", "headers")
    rows = rows.filter(status=wanted) if wanted else rows.exclude(status="rejected")
    page = Paginator(rows, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "integration": integration,
        "page": page,
        "wanted": wanted,
        "filters": DELIVERY_FILTERS.items(),
    }
    return render(request, DELIVERIES_TEMPLATE, context)
