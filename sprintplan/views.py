import sys

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, connection
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    JsonResponse,
    StreamingHttpResponse,
)
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import db, live
from . import health as background


@login_not_required
@require_GET
@never_cache
def health(request):
    """For load balancers and supervisors: 200 when the database and the broker answer,
    every required background role (worker, graph worker, beat) wrote a heartbeat
    recently and no change has waited too long for its derived data; else 503 with the
    problems listed. Thresholds: HEALTH_* settings."""
    problems: list[str] = []
    body: dict = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        connection.close()
        body = {"status": "error", "database": "unreachable", "problems": ["database"]}
        return JsonResponse(body, status=503)
    body["database"] = "ok"
    body["broker"] = _broker_state()
    if body["broker"] == "unreachable":
        problems.append("broker unreachable")

    now = timezone.now()
    workers = background.worker_states(now)
    body["workers"] = [
        {
            "name": w.name,
            "roles": w.roles,
            "last_heartbeat": w.last_heartbeat.isoformat(),
            "age_seconds": w.age_seconds,
        }
        for w in workers
    ]
    for role in settings.HEALTH_REQUIRED_ROLES:
        ages = [w.age_seconds for w in workers if role in w.roles]
        if not ages:
            problems.append(f"no {role} has ever reported")
        elif min(ages) > settings.HEALTH_HEARTBEAT_MAX_AGE:
            problems.append(f"{role}: last heartbeat {min(ages):.0f} s ago")

    pending = background.oldest_pending_markers()
    ages = {kind: background.age_seconds(at, now) for kind, at in pending.items()}
    waiting = [age for age in ages.values() if age is not None]
    body["derived_data"] = {
        "oldest_pending_seconds": round(max(waiting), 1) if waiting else None,
        "by_kind": {kind: None if age is None else round(age, 1) for kind, age in ages.items()},
    }
    for kind, at in pending.items():
        if background.is_overdue(at, now):
            problems.append(f"{kind} waiting for {ages[kind]:.0f} s")

    body["status"] = "error" if problems else "ok"
    body["problems"] = problems
    return JsonResponse(body, status=503 if problems else 200)


def _broker_state() -> str:
    if not settings.REDIS_URL:
        return "not used (tasks run in-process)"
    timeout = settings.REDIS_TIMEOUT_SECONDS
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    try:
        client.ping()
    except redis.RedisError:
        return "unreachable"
    finally:
        client.close()
    return "ok"


def server_error(request):
    """Django's 500 handler, except for a database that failed under us: that is not a
    bug of the request, and is answered 409 (write conflict) or 503 (connection lost) so
    the client knows to retry (sprintplan.db)."""
    exc = sys.exc_info()[1]
    if exc is not None and db.is_transient(exc):
        status, body = db.problem(exc)
        headers = {"Retry-After": str(db.RETRY_AFTER_SECONDS)}
        if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
            return JsonResponse(body, status=status, headers=headers)
        return HttpResponse(
            f"<!doctype html><title>Try again</title><p>{body['detail']}</p>",
            status=status,
            headers=headers,
        )
    from django.views.defaults import server_error as django_server_error

    return django_server_error(request)


@login_not_required  # answers 403 itself: a stream is no page to send to the login form
@require_GET
@never_cache
async def live_stream(request):
    """Server-sent events for one open page (sprintplan.live): `?topics=sprint:12,...`.
    Signed-in people only. Under a WSGI server (tests' live server, `runserver`) it answers
    204, which tells the browser not to reconnect: the page keeps polling."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponseForbidden("Sign in to receive live updates.", content_type="text/plain")
    try:
        topics = live.parse_topics(request.GET.get("topics", ""))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    if not isinstance(request, ASGIRequest):
        return HttpResponse(status=204)
    await sync_to_async(live.release_db_connections)()
    response = StreamingHttpResponse(live.event_stream(topics), content_type="text/event-stream")
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
