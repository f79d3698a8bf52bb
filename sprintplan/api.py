"""API plumbing shared by every app: one error shape for every refusal."""

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from . import db
from .errors import DomainError


def exception_handler(exc, context):
    """Every error body is JSON with a stable `code` and a human `detail`."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    if db.is_transient(exc):
        status_code, body = db.problem(exc)
        return Response(
            body, status=status_code, headers={"Retry-After": str(db.RETRY_AFTER_SECONDS)}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": _first_message(exc.detail),
            "errors": exc.detail,
        }
    elif isinstance(response.data, dict) and "detail" in response.data:
        code = getattr(exc, "default_code", "error")
        if response.status_code == status.HTTP_401_UNAUTHORIZED:
            code = "not_authenticated"
        response.data = {"code": code, "detail": str(response.data["detail"])}
    return response


def _first_message(detail, prefix: str = "") -> str:
    """The first error as one sentence that names its field, e.g. 'team: Invalid pk "99"'."""
    if isinstance(detail, dict):
        for field, inner in detail.items():
            label = field if field != "non_field_errors" else ""
            return _first_message(inner, f"{prefix}{label}: " if label else prefix)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], prefix)
    return f"{prefix}{detail}"
