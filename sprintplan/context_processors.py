from accounts.policy import can_manage_integrations, can_manage_sprints


def navigation(request):
    user = getattr(request, "user", None)
    return {
        "can_manage_sprints": bool(user) and can_manage_sprints(user),
        "can_manage_integrations": bool(user) and can_manage_integrations(user),
    }
