"""Webhook receivers. Authenticated by the integration's secret (not by login), so they are
exempt from CSRF and the login requirement; they answer fast and leave processing to a task."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sprintplan.errors import DomainError

from . import services
from .models import Integration


def _receiver(kind: str):
    @csrf_exempt
    @login_not_required
    @require_POST
    def receive(request: HttpRequest, integration_id: int) -> JsonResponse:
        integration = (
            Integration.objects.select_related("team")
            .filter(pk=integration_id, kind=kind, is_active=True)
            .first()
        )
        if integration is None:
            return JsonResponse({"code": "not_found", "detail": "No such integration."}, status=404)
        incoming = services.Incoming(
            headers=dict(request.headers), body=request.body, params=request.GET.dict()
        )
        try:
            received = services.receive(integration=integration, incoming=incoming)
        except DomainError as error:
            return JsonResponse(error.as_dict(), status=error.status)
        delivery = received.delivery
        body = {"delivery": delivery.pk, "status": delivery.status, "duplicate": received.duplicate}
        return JsonResponse(body, status=200 if received.duplicate else 202)

    return receive


label_studio_webhook = _receiver(Integration.Kind.LABEL_STUDIO)
mlflow_webhook = _receiver(Integration.Kind.MLFLOW)
junit_upload = _receiver(Integration.Kind.JUNIT)
