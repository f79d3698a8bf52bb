from django.shortcuts import redirect

from planning.selectors import current_sprint


def home(request):
    sprint = current_sprint()
    if sprint is None:
        return redirect("sprint-list")
    return redirect("sprint-detail", sprint_id=sprint.pk)
