"""API plumbing shared by every app: one error shape for every refusal, strict input,
paging, numeric ids in routes and the OpenAPI description of all of it."""

import copy
import logging
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.validators import MaxLengthValidator
from django.db import DatabaseError, OperationalError, connection
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import exception_handler as drf_exception_handler

from . import db
from .errors import DomainError, StaleVersion
from .limits import SHORT_TEXT_MAX

logger = logging.getLogger(__name__)

# Stable codes for the statuses DRF and Django answer on their own.
STATUS_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    503: "busy",
}

# Seconds a client should wait before retrying a write the database could not take now.
BUSY_RETRY_AFTER = 1


def exception_handler(exc, context):
    """Every error body is JSON with a stable `code` and a human `detail`."""
    if isinstance(exc, DomainError):
        body = exc.as_dict()
        view = context.get("view")
        if isinstance(exc, StaleVersion) and hasattr(view, "stale_current"):
            # The object as it is now, in the view's own output format, so the client can
            # show theirs beside its own edit and retry with the current version.
            body["current"] = view.stale_current(exc.current)
        return Response(body, status=exc.status)
    if db.is_transient(exc):
        status_code, body = db.problem(exc)
        return Response(
            body, status=status_code, headers={"Retry-After": str(db.RETRY_AFTER_SECONDS)}
        )
    special = special_error_response(exc)
    if special is not None:
        return special
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError) and _only_codes(exc, {"unique"}):
        response.status_code = status.HTTP_409_CONFLICT
        response.data = {
            "code": "duplicate",
            "detail": _first_message(exc.detail),
            "errors": exc.detail,
        }
    elif isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": _first_message(exc.detail),
            "errors": exc.detail,
        }
    elif isinstance(response.data, dict) and "detail" in response.data:
        code = STATUS_CODES.get(response.status_code, "error")
        if isinstance(exc, exceptions.APIException) and response.status_code not in STATUS_CODES:
            code = exc.default_code
        body = {"code": code, "detail": str(response.data["detail"])}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["retry_after"] = int(exc.wait + 0.999)
        response.data = body
    return response


def special_error_response(exc) -> Response | None:
    """Errors that are not the client's fault in the usual sense, or that Django raises
    below DRF: too large a body, a number out of the database's range, a busy database."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {
                "code": "request_too_large",
                "detail": f"The request body is larger than the limit of {limit} bytes.",
                "limit_bytes": limit,
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, OverflowError):
        return Response(
            {"code": "out_of_range", "detail": "A number in the request is out of range."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ValueError) and "NUL (0x00)" in str(exc):
        # PostgreSQL cannot store or compare text with a NUL character.
        return Response(
            {"code": "invalid", "detail": "Text may not contain NUL (0x00) characters."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DatabaseError) and is_busy_error(exc):
        logger.warning("database busy, answered 503: %s", exc)
        return Response(
            {
                "code": "busy",
                "detail": "The database is busy with other changes; nothing was saved. "
                "Retry in a moment.",
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(BUSY_RETRY_AFTER)},
        )
    return None


def is_busy_error(exc: BaseException) -> bool:
    """A lock, serialization or deadlock failure: the same request may succeed if retried."""
    cause = exc.__cause__ or exc
    pgcode = getattr(cause, "pgcode", None)
    if pgcode in {"40001", "40P01", "55P03"}:  # serialization, deadlock, lock not available
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def _only_codes(exc: exceptions.ValidationError, codes: set[str]) -> bool:
    """Whether every error in `exc` has one of `codes` (e.g. only uniqueness failures)."""
    found: set[str] = set()

    def collect(value) -> None:
        if isinstance(value, dict):
            for inner in value.values():
                collect(inner)
        elif isinstance(value, list):
            for inner in value:
                collect(inner)
        else:
            found.add(getattr(value, "code", None))

    collect(exc.detail)
    return bool(found) and found <= codes


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


# --- strict input ------------------------------------------------------------------------------


class StrictInputMixin:
    """Refuse fields the serializer does not take: a misspelt field ("stauts") or a read-only
    one ("id", "key") is named in a 400 instead of being silently dropped."""

    # Names a serializer reads from the raw data itself (aliases), beyond its fields.
    extra_input_names: frozenset[str] = frozenset()
    # For an input-only serializer: the serializer of the answer, whose other fields are
    # named read-only (rather than unknown) when sent.
    output_serializer: type[serializers.Serializer] | None = None

    def _output_names(self) -> set[str]:
        return set(self.output_serializer().fields) if self.output_serializer else set()

    def get_fields(self):
        # DRF builds every field anew for each serializer instance (a ModelSerializer
        # introspects its model each time): a ticket's answer paid more for that than for
        # its SQL. The fields are built once per class; each instance binds its own copies.
        template = _FIELD_TEMPLATES.get(type(self))
        if template is None:
            template = super().get_fields()
            for field in template.values():
                _limit_text(field)
            _FIELD_TEMPLATES[type(self)] = template
        return {name: _unbound_copy(field) for name, field in template.items()}

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            refused = {}
            for name in data:
                field = self.fields.get(name)
                if name in self.extra_input_names:
                    continue
                if field is None and name in self._output_names():
                    refused[name] = ["This field is read-only."]
                elif field is None:
                    refused[name] = ["Unknown field."]
                elif field.read_only:
                    refused[name] = ["This field is read-only."]
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)


# Serializer class -> its fields, built and limited once, never bound.
_FIELD_TEMPLATES: dict[type, dict[str, serializers.Field]] = {}


def _unbound_copy(field: serializers.Field) -> serializers.Field:
    """A copy of a template field for one serializer instance to bind. A plain field keeps
    no state of its own beyond its attributes, so a shallow copy will do; a field holding a
    child (a nested serializer, a list or dict of fields, a many-relation) has bound that
    child to itself, so it is rebuilt from its arguments, as DRF does, and limited again."""
    if isinstance(field, _COMPOUND_FIELDS):
        fresh = copy.deepcopy(field)
        _limit_text(fresh)
        return fresh
    fresh = object.__new__(type(field))
    fresh.__dict__.update(field.__dict__)
    return fresh


_COMPOUND_FIELDS = (
    serializers.BaseSerializer,
    serializers.ListField,
    serializers.DictField,
    serializers.ManyRelatedField,
)


def _limit_text(field) -> None:
    """Every text input has a length limit: a field declared without one gets the short-text
    default (long texts declare theirs, from sprintplan.limits)."""
    if isinstance(field, serializers.ListField | serializers.DictField):
        _limit_text(field.child)
    elif (
        isinstance(field, serializers.CharField)
        and not field.read_only
        and field.max_length is None
    ):
        field.max_length = SHORT_TEXT_MAX
        message = serializers.CharField.default_error_messages["max_length"].format(
            max_length=SHORT_TEXT_MAX
        )
        field.validators.append(MaxLengthValidator(SHORT_TEXT_MAX, message=message))


class StrictSerializer(StrictInputMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictInputMixin, serializers.ModelSerializer):
    pass


# --- routes ---------------------------------------------------------------------------------


class ApiRouter(DefaultRouter):
    """Routes whose lookup is a database id accept digits only, so /pis/abc/ is a 404 (an
    unknown route) rather than a failed integer conversion."""

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        if getattr(viewset, "lookup_value_regex", None) is None:
            lookup_field = getattr(viewset, "lookup_field", "pk")
            if lookup_field in {"pk", "id"}:
                viewset.lookup_value_regex = "[0-9]{1,18}"
        return super().get_lookup_regex(viewset, lookup_prefix)


# --- OpenAPI -----------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every refusal: a stable code, a sentence for people and, when one field is at fault,
    its name. Validation errors add `errors` (field -> messages)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    field = serializers.CharField(required=False)
    errors = serializers.DictField(required=False)


class TooLargeSerializer(ErrorSerializer):
    limit_bytes = serializers.IntegerField()


class ThrottledSerializer(ErrorSerializer):
    retry_after = serializers.IntegerField(required=False)
