"""Program pages of the insight area: the Scrum of Scrums view and the leading indicators.
Read-only pages (login required by the middleware); the work is in selectors/insight.py."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from ..models import PlanningInterval
from ..selectors import insight as selectors


def _pi(pk: int) -> PlanningInterval:
    return get_object_or_404(PlanningInterval.objects.select_related("program"), pk=pk)


@require_GET
def pi_scrum_of_scrums(request, pk: int):
    pi = _pi(pk)
    context = {"program": pi.program, "pi": pi, "sos": selectors.scrum_of_scrums(pi)}
    return render(request, "programs/insight/scrum_of_scrums.html", context)


@require_GET
def pi_indicators(request, pk: int):
    pi = _pi(pk)
    context = {"program": pi.program, "pi": pi, "ind": selectors.leading_indicators(pi)}
    return render(request, "programs/insight/indicators.html", context)
