"""Reads of teams and their people."""

from accounts.models import User

from .models import Team


def team_by_prefix(prefix: str) -> Team | None:
    return Team.objects.filter(key_prefix=prefix.upper()).first()


def team_members(team: Team) -> list[User]:
    """The people of the team (not its integrations' service users): assignee choices."""
    return list(
        User.objects.filter(memberships__team=team)
        .exclude(product_role=User.ProductRole.INTEGRATION)
        .order_by("first_name", "username")
    )
