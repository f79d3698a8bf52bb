"""Writes on accounts: API tokens (hashed at rest by django-rest-knox, with an expiry)."""

from django.db import transaction
from knox.models import AuthToken
from knox.settings import knox_settings


@transaction.atomic
def api_token_issue(*, user, never_expires: bool = False) -> tuple[str, AuthToken]:
    """A new API token for `user`, valid for REST_KNOX["TOKEN_TTL"] (or for good: the service
    users of integrations). Only its hash is stored; the clear text is returned once."""
    expiry = None if never_expires else knox_settings.TOKEN_TTL
    instance, token = AuthToken.objects.create(user=user, expiry=expiry)
    return token, instance


@transaction.atomic
def api_token_revoke(*, token: AuthToken) -> None:
    token.delete()


@transaction.atomic
def api_tokens_revoke_all(*, user) -> int:
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted
