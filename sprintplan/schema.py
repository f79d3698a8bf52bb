"""OpenAPI: every operation documents the error answers it can give, with their body."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse

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


class AutoSchema(SpectacularAutoSchema):
    """Documents the error answers every operation can give, with the error body."""

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
