"""API plumbing shared by every app: one error shape for every refusal."""

from django.db import connection
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


class RetryTransientDatabaseErrors:
    """ViewSet mixin: a request whose database connection was lost, or whose transaction
    lost a write conflict, is run again on a fresh connection instead of failing: up to
    twice after a lost connection (a restart can drop it more than once), once after a
    conflict.

    Only for methods that are safe to repeat: reads, and PATCH/PUT/DELETE of versioned
    objects (a repeat of an update that did commit is refused as stale, with the current
    object). Never for POST, whose repeat could create twice. The repeat goes through
    authentication and permissions again. What still fails is answered 409/503 by
    `exception_handler`."""

    retry_methods = frozenset({"GET", "HEAD", "OPTIONS", "PATCH", "PUT", "DELETE"})

    def handle_exception(self, exc):
        attempts = getattr(self, "_transient_retries", 0)
        limit = 2 if db.is_connection_lost(exc) else 1
        if (
            db.is_transient(exc)
            and self.request.method in self.retry_methods
            and attempts < limit
            and not connection.in_atomic_block
        ):
            self._transient_retries = attempts + 1
            connection.close_if_unusable_or_obsolete()
            try:
                self.initial(self.request, *self.args, **self.kwargs)
                handler = getattr(self, self.request.method.lower(), self.http_method_not_allowed)
                return handler(self.request, *self.args, **self.kwargs)
            except Exception as again:
                return self.handle_exception(again)
        return super().handle_exception(exc)
