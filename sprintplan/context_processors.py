from accounts.policy import can_manage_integrations, can_manage_sprints, team_roles


def navigation(request):
    """What the top bar offers: boards of the user's own teams, admin pages by role."""
    user = getattr(request, "user", None)
    return {
        "nav_teams": _own_teams(user),
        "can_manage_sprints": bool(user) and can_manage_sprints(user),
        "can_manage_integrations": bool(user) and can_manage_integrations(user),
    }


def _own_teams(user):
    from teams.models import Team

    if not getattr(user, "is_authenticated", False):
        return []
    if user.is_scrum_master or user.is_product_owner or user.is_viewer:
        return Team.objects.order_by("name").only("key_prefix", "name")
    return Team.objects.filter(pk__in=team_roles(user)).order_by("name").only("key_prefix", "name")
