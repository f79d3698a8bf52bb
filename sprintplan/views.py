from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from planning.selectors import current_sprint


def home(request):
    sprint = current_sprint()
    if sprint is None:
        return redirect("sprint-list")
    return redirect("sprint-detail", sprint_id=sprint.pk)


@login_not_required
@require_GET
def health(request):
    """Liveness for load balancers: the process answers and the database is reachable."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})
