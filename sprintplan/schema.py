"""OpenAPI: every operation documents the error answers it can give, with their body."""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from .api import ErrorSerializer, ThrottledSerializer, TooLargeSerializer

ERROR_DESCRIPTIONS = {
    400: "Invalid input; `detail` names the field.",
    401: "Not signed in.",
    403: "Signed in, but this role may not do that.",
    404: "No such object (or route).",
    405: "Method not allowed.",
    409: "Conflict with the current state (e.g. a stale version).",
    413: "Request body too large; `limit_bytes` gives the limit.",
    415: "Unsupported media type.",
    429: "Too many requests; `retry_after` in seconds.",
    503: "The database is busy; nothing was saved, retry after `Retry-After` seconds.",
}
BODY_METHODS = {"POST", "PUT", "PATCH"}


def _answers_null(field) -> bool:
    """A read-only field with a null default, or a relation whose model column is nullable
    (e.g. a ticket's parent)."""
    if field.allow_null or field.default is None:
        return True
    if not isinstance(field, serializers.RelatedField) or field.source == "*":
        return False
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    try:
        return bool(model and model._meta.get_field(field.source_attrs[0]).null)
    except (FieldDoesNotExist, IndexError):
        return False


class AutoSchema(SpectacularAutoSchema):
    """Documents the error answers every operation can give, with the error body, and marks
    output fields nullable where null is answered."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        meta = super()._map_serializer_field(field, direction, bypass_extensions)
        if field.read_only and _answers_null(field):
            meta["nullable"] = True
        return meta

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_statuses():
            key = str(code)
            if key in responses:
                continue
            serializer = {413: TooLargeSerializer, 429: ThrottledSerializer}.get(
                code, ErrorSerializer
            )
            responses[key] = self._get_response_for_code(
                OpenApiResponse(response=serializer, description=ERROR_DESCRIPTIONS[code]),
                key,
                direction=direction,
            )
        return responses

    def _error_statuses(self) -> list[int]:
        codes = [400, 401, 403, 404, 405, 429]
        if self.method in BODY_METHODS | {"DELETE"}:
            codes += [409, 503]
        if self.method in BODY_METHODS:
            codes += [413, 415]
        return codes


def refuse_unknown_request_fields(result, generator, request, public):
    """Request bodies take only the documented fields (every input serializer is strict), so
    the schema says so: `additionalProperties: false` on each request component."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component.setdefault("additionalProperties", False)
    return result
