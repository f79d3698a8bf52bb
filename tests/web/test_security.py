"""Abuse and secrets: sign-in lockout, CSP on pages, deploy checks, the admin's address."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[2]
WRONG_TRIES = 20


@pytest.fixture
def scenario(scenario):
    """The usual scenario, with no sign-in failures remembered from earlier tests."""
    from axes.utils import reset

    reset()
    return scenario


def _login_page(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def _admin_login(client, username, password):
    return client.post(
        f"/{django_settings.ADMIN_PATH}login/", {"username": username, "password": password}
    )


def _token(client, username, password):
    return client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
    )


@pytest.mark.parametrize("sign_in", [_login_page, _admin_login, _token])
def test_twenty_wrong_passwords_lock_the_account_from_that_address(client, scenario, sign_in):
    user = scenario.users["sm"]
    user.is_staff = True  # so that the admin would let the right password in
    user.save()
    for _ in range(WRONG_TRIES):
        sign_in(client, "sm", "wrong-password")
    answer = sign_in(client, "sm", "pw-for-tests-1")
    assert answer.status_code == 429
    assert "_auth_user_id" not in client.session
    assert not (answer.headers.get("Content-Type", "").startswith("application/json")
                and "token" in answer.json())  # fmt: skip


def test_a_few_wrong_passwords_do_not_lock_and_a_right_one_resets(client, scenario):
    for _ in range(3):
        _login_page(client, "sm", "wrong-password")
    answer = _login_page(client, "sm", "pw-for-tests-1")
    assert answer.status_code == 302
    assert client.session["_auth_user_id"] == str(scenario.users["sm"].pk)


def test_a_lockout_on_the_api_token_endpoint_is_json(client, scenario):
    for _ in range(WRONG_TRIES):
        _token(client, "sm", "wrong-password")
    answer = _token(client, "sm", "pw-for-tests-1")
    assert answer.status_code == 429
    assert answer.json()["code"] == "throttled"


def test_pages_carry_a_content_security_policy_without_inline_allowances(client, scenario):
    client.force_login(scenario.users["sm"])
    for path in ["/", "/login/", "/planning/", f"/teams/{scenario.lab.key_prefix}/board/"]:
        policy = client.get(path).headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_template_has_inline_script_style_or_handlers():
    pattern = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if pattern.search(path.read_text())
    ]
    assert offenders == []


def _compose_environment() -> dict[str, str]:
    """The web service's environment in docker-compose.yml, with its defaults filled in."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["x-app"]["environment"]
    resolved = {}
    for name, value in environment.items():
        value = str(value)
        if ":?" in value:  # required from the operator, e.g. SECRET_KEY
            value = secrets.token_urlsafe(50)
        else:
            value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
        resolved[name] = value
    return resolved


def _manage(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DEBUG",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_check_deploy_passes_without_warnings_under_docker_compose_settings(tmp_path):
    env = {**_compose_environment(), "SPRINTPLAN_VAR_DIR": str(tmp_path)}
    run = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_the_admin_lives_at_the_configured_path(tmp_path):
    code = "from django.urls import reverse; print(reverse('admin:index'))"
    run = _manage(
        {"ADMIN_PATH": "backstage-7f3/", "SPRINTPLAN_VAR_DIR": str(tmp_path)}, "shell", "-c", code
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "/backstage-7f3/"
