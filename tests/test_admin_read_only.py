"""The admin outside accounts only shows rows: the services own every write (role checks,
invariants, history, the recompute). Users stay editable there, with sane role changes."""

from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import User
from teams.models import Membership

from .factories import TicketFactory

# Registered by Django or libraries, or managed in the admin on purpose (people).
WRITABLE_APPS = {"auth", "authtoken", "knox", "axes", "accounts"}


def _product_admins():
    return [
        (model, admin)
        for model, admin in site._registry.items()
        if model._meta.app_label not in WRITABLE_APPS
    ]


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.com", "not-a-secret-1")


def test_every_product_admin_is_read_only_even_for_a_superuser(root, rf):
    request = rf.get("/admin/")
    request.user = root
    admins = _product_admins()
    assert {m._meta.app_label for m, _ in admins} >= {"programs", "teams", "planning", "tickets"}
    for model, model_admin in admins:
        writes = (
            model_admin.has_add_permission(request),
            model_admin.has_change_permission(request),
            model_admin.has_delete_permission(request),
        )
        assert writes == (False, False, False), model.__name__
        assert model_admin.has_view_permission(request), model.__name__
        for inline in model_admin.get_inline_instances(request):
            assert not inline.has_change_permission(request), (model.__name__, inline)


def test_every_product_admin_list_renders_for_a_superuser(scenario, root, client):
    TicketFactory(team=scenario.lab, sprint=scenario.sprint)
    client.force_login(root)
    for model, _ in _product_admins():
        assert client.get(_url(model, "changelist")).status_code == 200, model.__name__


def test_team_admin_shows_members_and_refuses_a_rate_change(scenario, root, client):
    client.force_login(root)
    url = _url(type(scenario.lab), "change", scenario.lab.pk)
    page = client.get(url)
    assert page.status_code == 200 and "lab_lead" in page.content.decode()
    posted = client.post(
        url, {"name": scenario.lab.name, "key_prefix": "LAB", "default_rate": "999"}
    )
    assert posted.status_code == 403
    scenario.lab.refresh_from_db()
    assert scenario.lab.default_rate == Decimal("60")
    assert Membership.objects.filter(team=scenario.lab).count() == 2


def test_sprint_admin_refuses_a_date_change(scenario, root, client):
    client.force_login(root)
    sprint = scenario.sprint
    url = _url(type(sprint), "change", sprint.pk)
    assert client.get(url).status_code == 200
    before = (sprint.start_date, sprint.end_date)
    posted = client.post(url, {"name": sprint.name, "start_date": "2030-01-01"})
    assert posted.status_code == 403
    sprint.refresh_from_db()
    assert (sprint.start_date, sprint.end_date) == before


# --- users: editable, with sane role changes ----------------------------------------------


def _user_form(user, **changes) -> dict:
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "product_role": user.product_role,
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "is_active": "on" if user.is_active else "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


@pytest.fixture
def staff(db):
    """An admin-site user allowed to change users, but not a superuser."""
    user = User.objects.create_user("helpdesk", password="not-a-secret-2", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="accounts", codename__endswith="user")
    )
    return user


def test_a_superuser_changes_someone_elses_product_role(scenario, root, client):
    viewer = scenario.users["viewer"]
    client.force_login(root)
    response = client.post(
        _url(User, "change", viewer.pk), _user_form(viewer, product_role="product_owner")
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.product_role == User.ProductRole.PRODUCT_OWNER


def test_a_staff_user_cannot_promote_themselves_or_others(scenario, staff, client):
    client.force_login(staff)
    client.post(
        _url(User, "change", staff.pk),
        _user_form(staff, product_role="scrum_master", is_superuser="on", first_name="Help"),
    )
    viewer = scenario.users["viewer"]
    client.post(_url(User, "change", viewer.pk), _user_form(viewer, product_role="scrum_master"))
    staff.refresh_from_db()
    viewer.refresh_from_db()
    assert staff.first_name == "Help"  # the rest of the form was saved
    assert (staff.product_role, staff.is_superuser) == (User.ProductRole.TEAM, False)
    assert viewer.product_role == User.ProductRole.VIEWER


def test_a_superuser_cannot_lock_themselves_out(root, client):
    client.force_login(root)
    client.post(
        _url(User, "change", root.pk), _user_form(root, is_active="", product_role="viewer")
    )
    root.refresh_from_db()
    assert root.is_superuser and root.is_staff and root.is_active
