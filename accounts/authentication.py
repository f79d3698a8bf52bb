"""API token authentication: django-rest-knox's hashed, expiring tokens, checked without
reading the user's other tokens on every request.

knox deletes a user's expired tokens as a side effect of each request (one query reading all
of them, per request). Here a request checks only the token it presents (an expired one is
refused and deleted, as knox does), and the periodic `accounts.tasks.purge_expired_tokens`
deletes the others. The tokens sharing the presented one's key (its first characters) are
read with their users by a statement built once (sprintplan.row_reads), as every API request
reads them."""

import binascii
from functools import cache
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework.exceptions import AuthenticationFailed

from sprintplan.row_reads import OneRowRead


@cache
def _tokens_by_key() -> OneRowRead:
    # Built on first use: the token model is resolved once the app registry is ready.
    return OneRowRead(get_token_model(), by="token_key", relations=("user",))


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        """(user, token) for the presented token, or AuthenticationFailed: the stored digest
        of one of the tokens with its key must equal the presented token's, and that token
        must not have expired and its user must be active."""
        presented = token.decode("utf-8")
        try:
            digest = hash_token(presented)
        except (TypeError, binascii.Error):
            raise AuthenticationFailed(_("Invalid token.")) from None
        for auth_token in _tokens_by_key().read_all(presented[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise AuthenticationFailed(_("Invalid token."))

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
