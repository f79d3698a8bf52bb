"""API tokens: a request checks the token it presents and nothing else; expired tokens are
refused when presented and purged by the periodic task."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.authentication import TokenAuthentication
from accounts.services import api_token_issue
from accounts.tasks import purge_expired_tokens

pytestmark = pytest.mark.django_db


def _expire(stored) -> None:
    AuthToken.objects.filter(pk=stored.pk).update(expiry=timezone.now() - timedelta(minutes=1))


def _client(token: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Token {token}")


def test_a_request_reads_only_the_token_it_presents(scenario):
    """One query authenticates (the token with its user), however many tokens the user has:
    knox's own check read all of them on every request to delete the expired ones."""
    user = scenario.users["sm"]
    token, _ = api_token_issue(user=user)
    for _ in range(3):
        _, other = api_token_issue(user=user)
        _expire(other)
    client = _client(token)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/teams/").status_code == 200
    token_reads = [q["sql"] for q in queries.captured_queries if "knox_authtoken" in q["sql"]]
    assert len(token_reads) == 1, token_reads
    assert AuthToken.objects.filter(user=user).count() == 4  # the others wait for the purge


def test_an_expired_token_is_refused_and_deleted(scenario):
    token, stored = api_token_issue(user=scenario.users["viewer"])
    _expire(stored)
    answer = _client(token).get("/api/v1/teams/")
    assert answer.status_code == 401
    assert not AuthToken.objects.filter(pk=stored.pk).exists()


def test_the_purge_deletes_expired_tokens_only(scenario):
    live, _ = api_token_issue(user=scenario.users["sm"])
    _, forever = api_token_issue(user=scenario.users["po"], never_expires=True)
    for role in ("sm", "viewer"):
        _, old = api_token_issue(user=scenario.users[role])
        _expire(old)
    assert purge_expired_tokens() == 2
    assert AuthToken.objects.count() == 2
    assert AuthToken.objects.filter(pk=forever.pk, expiry=None).exists()
    assert _client(live).get("/api/v1/teams/").status_code == 200


def test_a_token_with_the_right_key_but_a_wrong_secret_is_refused(scenario):
    token, _ = api_token_issue(user=scenario.users["sm"])
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert _client(forged).get("/api/v1/teams/").status_code == 401
    assert _client(token).get("/api/v1/teams/").status_code == 200


def test_every_token_sharing_the_key_is_checked(scenario):
    """The key is the token's first characters, not unique: a request compares the digest of
    each token stored under it, whichever comes first."""
    token, stored = api_token_issue(user=scenario.users["sm"])
    # The other token is stored first, so that it is the one a database returns first.
    AuthToken.objects.filter(pk=stored.pk).delete()
    AuthToken(
        user=scenario.users["viewer"],
        token_key=stored.token_key,
        digest="0" * len(stored.digest),
        expiry=stored.expiry,
    ).save(force_insert=True)
    stored.save(force_insert=True)
    user, auth_token = TokenAuthentication().authenticate_credentials(token.encode())
    assert (user, auth_token) == (scenario.users["sm"], stored)
    assert _client(token).get("/api/v1/teams/").status_code == 200


def test_an_inactive_users_token_is_refused(scenario):
    token, _ = api_token_issue(user=scenario.users["viewer"])
    scenario.users["viewer"].is_active = False
    scenario.users["viewer"].save(update_fields=["is_active"])
    assert _client(token).get("/api/v1/teams/").status_code == 401
