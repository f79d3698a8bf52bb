"""Writes for people: accounts, product roles, deactivation, the one-time set-password link.

A person's rights in a team come from teams.Membership (teams.services); here is what is
product-wide.

Writes on accounts: API tokens (hashed at rest by django-rest-knox, with an expiry)."""

import logging
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from knox.models import AuthToken
from knox.settings import knox_settings

from sprintplan.errors import Conflict, InvalidInput, PermissionDenied, StaleVersion

from .models import User
from .policy import ensure_can_manage_people

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"^[\w.+-]{1,150}$")
# Roles a person can be given on the People page; integrations get theirs with the
# integration that uses them.
PERSON_ROLES = (
    User.ProductRole.SCRUM_MASTER,
    User.ProductRole.PRODUCT_OWNER,
    User.ProductRole.TEAM,
    User.ProductRole.VIEWER,
)
PERSON_FIELDS = frozenset({"first_name", "last_name", "email", "product_role"})


def user_create(
    *,
    actor,
    username: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    product_role: str = User.ProductRole.TEAM,
) -> tuple[User, str]:
    """Create a person without a usable password. Returns the person and the path of the
    one-time link that lets them choose one (shown once to the Scrum master; also mailed
    when email is configured). The link stops working once a password is set."""
    ensure_can_manage_people(actor)
    username = (username or "").strip()
    if not USERNAME_PATTERN.match(username):
        raise InvalidInput(
            "Username: 1-150 letters, digits or . + - _ (no spaces), e.g. ana.lopez.",
            field="username",
        )
    values = _validated(
        {
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "product_role": product_role,
        }
    )
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"The username {username!r} is taken.", field="username")
    try:
        with transaction.atomic():
            user = User(username=username, **values)
            user.set_unusable_password()
            user.save()
    except IntegrityError:
        raise Conflict(f"The username {username!r} is taken.", field="username") from None
    link = set_password_path(user)
    if user.email and getattr(settings, "MAIL_CONFIGURED", False):
        transaction.on_commit(lambda: _mail_link(user, link))
    return user, link


def user_update(
    *, actor, user: User, changes: dict[str, Any], expected: dict[str, Any] | None = None
) -> User:
    """Change a person's name, e-mail or role. `expected`: the values the editor saw; when
    any of them changed meanwhile, nothing is saved (StaleVersion, `current` the person as
    they are now), so two editors never overwrite each other unseen."""
    ensure_can_manage_people(actor)
    unknown = sorted(set(changes) - PERSON_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", code="unknown_field")
    values = _validated(changes)
    with transaction.atomic():
        current = User.objects.select_for_update().get(pk=user.pk)
        _refuse_changed_meanwhile(current, expected or {})
        if values.get("product_role", current.product_role) != User.ProductRole.SCRUM_MASTER:
            _keep_one_scrum_master(user)
        for field, value in values.items():
            setattr(user, field, value)
        user.save(update_fields=list(values) or None)
    return user


def _refuse_changed_meanwhile(current: User, expected: dict[str, Any]) -> None:
    changed = [
        field
        for field, seen in expected.items()
        if field in PERSON_FIELDS and (getattr(current, field) or "") != (seen or "")
    ]
    if changed:
        words = ", ".join(field.replace("_", " ") for field in changed)
        raise StaleVersion(
            f"Someone else changed {current.username}'s {words} meanwhile; nothing was saved.",
            current=current,
            field=changed[0],
        )


def user_set_active(*, actor, user: User, active: bool) -> User:
    """Deactivate (cannot log in, leaves pickers; history and comments keep the name) or
    reactivate a person."""
    ensure_can_manage_people(actor)
    if not active:
        if user.pk == actor.pk:
            raise InvalidInput("You cannot deactivate yourself.", field="is_active")
        _keep_one_scrum_master(user)
    User.objects.filter(pk=user.pk).update(is_active=active)
    user.is_active = active
    return user


def user_password_link(*, actor, user: User) -> str:
    """A new one-time set-password link (a person lost theirs)."""
    ensure_can_manage_people(actor)
    if not user.is_active:
        raise InvalidInput(f"{user.username} is deactivated.", field="is_active")
    return set_password_path(user)


def set_password_path(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("password-set", kwargs={"uidb64": uid, "token": token})


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    if "product_role" in values and values["product_role"] not in PERSON_ROLES:
        raise InvalidInput(
            "Role must be Scrum master, Product Owner, team member or viewer.",
            field="product_role",
        )
    email = values.get("email")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise InvalidInput(f"{email!r} is not an email address.", field="email")
    for name in ("first_name", "last_name"):
        if name in values and len(values[name] or "") > 150:
            raise InvalidInput("At most 150 characters.", field=name)
    return values


def _keep_one_scrum_master(user: User) -> None:
    """The product always keeps an active Scrum master: nobody else could add people."""
    if not user.is_scrum_master:
        return
    others = User.objects.filter(product_role=User.ProductRole.SCRUM_MASTER, is_active=True)
    if not others.exclude(pk=user.pk).exists():
        raise PermissionDenied(
            f"{user.display_name} is the only active Scrum master: make someone else Scrum "
            "master first.",
            field="product_role",
        )


def _mail_link(user: User, path: str) -> None:
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    try:
        send_mail(
            "Your Sprintplan account",
            f"Hello {user.display_name},\n\nchoose your password here: {base}{path}\n",
            None,
            [user.email],
        )
    except Exception:  # the link was shown on screen too; a mail failure loses nothing
        logger.exception("Could not mail the set-password link to %s.", user.username)


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


def api_tokens_purge_expired() -> int:
    """Delete every API token past its expiry (refused already; this keeps the table small)."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    if deleted:
        logger.info("Deleted %d expired API tokens.", deleted)
    return deleted
