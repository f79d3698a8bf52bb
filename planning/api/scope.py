"""What the sprint-scoped endpoints share: their URL prefix and the sprint they act on."""

from django.shortcuts import get_object_or_404

from sprints.models import Sprint

SPRINT_PREFIX = r"sprints/(?P<sprint_pk>[0-9]+)"


class SprintScoped:
    """A viewset nested under /sprints/{sprint_pk}/."""

    def sprint(self) -> Sprint:
        return get_object_or_404(Sprint, pk=self.kwargs["sprint_pk"])
