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
from django.db.models import Prefetch
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.policy import can_manage_integrations
from sprintplan.errors import DomainError

from . import services, wandb
from .forms import IntegrationForm
from .models import Delivery, Integration

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


# --- the integrations page (Scrum master) ---------------------------------------------------

TEMPLATE = "integrations/list.html"
RECENT_DELIVERIES = 10
FORBIDDEN = (
    "Only the Scrum master sets up integrations (Label Studio, MLflow, CI uploads, scripts). "
    "Ask your Scrum master if your team needs one."
)


def integrations_with_recent_deliveries() -> list[Integration]:
    """Every integration with its team and its last 10 deliveries, in two queries whatever
    the number of integrations or deliveries.

    The deliveries come from one prefetch of a sliced queryset: Django turns the slice into
    ROW_NUMBER() OVER (PARTITION BY integration_id ORDER BY received_at DESC, id DESC) and
    keeps rows 1-10 of each partition (SQLite and PostgreSQL alike), so no delivery beyond
    the tenth is read. Bodies and headers are not loaded.
    """
    recent = Delivery.objects.order_by("-received_at", "-id").only(
        "id", "integration_id", "received_at", "event", "status", "error"
    )[:RECENT_DELIVERIES]
    return list(
        Integration.objects.select_related("team")
        .order_by("name")
        .prefetch_related(Prefetch("deliveries", queryset=recent, to_attr="recent_deliveries"))
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


def _render(request, status: int = 200, *, form=None, revealed=None, **extra):
    integrations = integrations_with_recent_deliveries()
    for integration in integrations:
        integration.endpoint = endpoint_url(request, integration)
    context = {
        "integrations": integrations,
        "form": form or IntegrationForm(),
        "revealed": revealed,
        "recent_limit": RECENT_DELIVERIES,
        "wandb_template": wandb.template_json(),
        **extra,
    }
    template = f"{TEMPLATE}#integrations-body" if _is_partial(request) else TEMPLATE
    response = render(request, template, context, status=status)
    if revealed is not None:
        add_never_cache_headers(response)  # the secret must not sit in any cache
    return response


def integration_list(request):
    if not can_manage_integrations(request.user):
        return _forbidden(request)
    return _render(request)


@require_POST
def integration_create(request):
    if not can_manage_integrations(request.user):
        return _forbidden(request)
    form = IntegrationForm(request.POST)
    if not form.is_valid():
        return _render(request, 400, form=form)
    try:
        created = services.integration_create(
            actor=request.user,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            team=form.cleaned_data["team"],
            config=form.config(),
        )
    except DomainError as error:
        form.add_service_error(error)
        return _render(request, error.status, form=form)
    integration = created.integration
    revealed = Revealed(
        integration=integration,
        endpoint=endpoint_url(request, integration),
        secret=created.secret,
        api_token=created.api_token,
        created=True,
    )
    return _render(request, revealed=revealed)


@require_POST
def integration_rotate_secret(request, integration_id: int):
    if not can_manage_integrations(request.user):
        return _forbidden(request)
    integration = get_object_or_404(Integration.objects.select_related("team"), pk=integration_id)
    try:
        secret = services.integration_rotate_secret(actor=request.user, integration=integration)
    except DomainError as error:
        return _render(request, error.status, page_error=error.message)
    revealed = Revealed(
        integration=integration, endpoint=endpoint_url(request, integration), secret=secret
    )
    return _render(request, revealed=revealed)
