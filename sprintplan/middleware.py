"""Under /api/, every answer is JSON: Django's own 404/405/413/500 pages (and its debug
pages, even with DEBUG on) are replaced by the API's error body."""

import logging

from django.http import JsonResponse

from .api import STATUS_CODES, special_error_response

logger = logging.getLogger("django.request")

API_PREFIX = "/api/"
DETAILS = {
    400: "Bad request.",
    403: "Forbidden.",
    404: "There is no such API route or object.",
    405: "Method not allowed.",
    413: "The request body is too large.",
    415: "Unsupported media type.",
    429: "Too many requests.",
    500: "Internal error; it has been logged. Nothing was saved.",
}


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not _is_api(request) or response.status_code < 400 or _is_json(response):
            return response
        status = response.status_code
        body = {"code": STATUS_CODES.get(status, "error"), "detail": DETAILS.get(status, "Error.")}
        replacement = JsonResponse(body, status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement

    def process_exception(self, request, exception):
        """Runs before Django renders its (debug) error page for an exception in a view."""
        if not _is_api(request):
            return None
        special = special_error_response(exception)
        if special is not None:
            replacement = JsonResponse(special.data, status=special.status_code)
            if "Retry-After" in special:
                replacement["Retry-After"] = special["Retry-After"]
            return replacement
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"request": request},
        )
        return JsonResponse({"code": "server_error", "detail": DETAILS[500]}, status=500)


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _is_json(response) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.startswith("application/json") or content_type.endswith("+json")


class OneThreadPerRequest:
    """Innermost on purpose. Under ASGI Django adapts each middleware to the mode of the one
    inside it: with async-capable middleware innermost (django-axes, django-htmx, and every
    MiddlewareMixin one above them), each of their steps hopped from the event loop to a
    thread and back, about twenty hops a request. A sync-only middleware innermost makes the
    whole chain and the (sync) views run in the request's one thread: one hop."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
