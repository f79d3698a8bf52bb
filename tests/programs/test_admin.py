"""The admin of programs only shows rows: a POST there cannot write past the services
(e.g. give a RACI activity a second Accountable, renumber a decision record)."""

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse

from accounts.models import User
from programs import models
from programs.models import Decision, RaciActivity, RaciAssignment
from programs.services.governance import decision_create, raci_activity_create

PROGRAM_MODELS = [
    models.Program,
    models.PlanningInterval,
    models.Iteration,
    models.Milestone,
    models.Feature,
    models.Objective,
    models.ProgramRisk,
    models.RaciActivity,
    models.Decision,
]


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.com", "not-a-secret-1")


@pytest.fixture
def governed(program):
    sm = program.users["sm"]
    activity = raci_activity_create(
        actor=sm, program=program.program, name="Model sign-off", row={"ML": "A", "QA": "C"}
    )
    record = decision_create(
        actor=sm, program=program.program, title="Ship v2", context="c", decision="d"
    )
    return activity, record


def _admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _accountables(activity) -> list[str]:
    cells = RaciAssignment.objects.filter(activity=activity, letter="A").select_related("team")
    return sorted(c.team.key_prefix if c.team_id else c.role for c in cells)


@pytest.mark.parametrize("model", PROGRAM_MODELS, ids=lambda m: m.__name__)
def test_program_admins_let_even_a_superuser_only_view(model, root, rf):
    request = rf.get("/admin/")
    request.user = root
    model_admin = site._registry[model]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    for inline in model_admin.get_inline_instances(request):
        assert not inline.has_add_permission(request, None)
        assert not inline.has_change_permission(request)
        assert not inline.has_delete_permission(request)


def test_no_admin_writes_raci_cells_on_their_own():
    assert RaciAssignment not in site._registry


@pytest.mark.parametrize("model", PROGRAM_MODELS, ids=lambda m: m.__name__)
def test_read_only_lists_render_for_a_superuser(model, program, governed, root, client):
    client.force_login(root)
    assert client.get(_admin_url(model, "changelist")).status_code == 200


def test_read_only_detail_pages_render_with_their_cells(program, governed, root, client):
    activity, record = governed
    client.force_login(root)
    page = client.get(_admin_url(RaciActivity, "change", activity.pk))
    assert page.status_code == 200
    assert "Accountable" in page.content.decode()  # the cells, shown read-only
    assert client.get(_admin_url(Decision, "change", record.pk)).status_code == 200
    assert (
        client.get(_admin_url(models.PlanningInterval, "change", program.pi.pk)).status_code == 200
    )


def test_admin_post_cannot_give_an_activity_a_second_accountable(program, governed, root, client):
    activity, _ = governed
    a_cell = RaciAssignment.objects.get(activity=activity, letter="A")
    client.force_login(root)
    response = client.post(
        _admin_url(RaciActivity, "change", activity.pk),
        {
            "program": program.program.pk,
            "name": "Model sign-off",
            "order": 0,
            "assignments-TOTAL_FORMS": "2",
            "assignments-INITIAL_FORMS": "1",
            "assignments-0-id": a_cell.pk,
            "assignments-0-activity": activity.pk,
            "assignments-0-team": program.ml.pk,
            "assignments-0-letter": "A",
            "assignments-1-activity": activity.pk,
            "assignments-1-role": "product_owner",
            "assignments-1-letter": "A",
        },
    )
    assert response.status_code == 403
    assert _accountables(activity) == ["ML"]


def test_admin_cannot_add_or_delete_an_activity_past_the_service(program, governed, root, client):
    activity, _ = governed
    client.force_login(root)
    added = client.post(
        _admin_url(RaciActivity, "add"), {"program": program.program.pk, "name": "No A", "order": 1}
    )
    assert added.status_code == 403
    removed = client.post(_admin_url(RaciActivity, "delete", activity.pk), {"post": "yes"})
    assert removed.status_code == 403
    assert list(RaciActivity.objects.values_list("name", flat=True)) == ["Model sign-off"]


def test_admin_post_cannot_renumber_or_restate_a_decision(program, governed, root, client):
    _, record = governed
    client.force_login(root)
    response = client.post(
        _admin_url(Decision, "change", record.pk),
        {"program": program.program.pk, "title": "Changed", "status": "superseded"},
    )
    assert response.status_code == 403
    record.refresh_from_db()
    assert (record.title, record.status, record.version) == ("Ship v2", "proposed", 1)
