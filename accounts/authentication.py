"""API token authentication: django-rest-knox's hashed, expiring tokens, checked without
reading the user's other tokens on every request.

knox deletes a user's expired tokens as a side effect of each request (one query reading all
of them, per request). Here a request checks only the token it presents (an expired one is
refused and deleted, as knox does), and the periodic `accounts.tasks.purge_expired_tokens`
deletes the others."""

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.signals import token_expired


class TokenAuthentication(KnoxTokenAuthentication):
    def _cleanup_token(self, auth_token) -> bool:
        """True (skip it) when the presented token has expired; it is deleted then."""
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme stays knox's `Token <token>` header."""

    target_class = "accounts.authentication.TokenAuthentication"
