"""Objectives: a team's lead writes them, only the PO or SM sets business value; edits are
version-checked; refusals name the field and write nothing; the page and API agree."""

import pytest

from programs.models import Objective
from programs.services.governance import objective_create, objective_update
from sprintplan.errors import InvalidInput, PermissionDenied, StaleVersion

from .conftest import HTMX, login


def _objective(program, **kw):
    values = {"title": "Ranker v2 in shadow mode", "planned_value": 8, **kw}
    return Objective.objects.create(pi=program.pi, team=program.ml, **values)


def url(program, suffix=""):
    return f"/api/v1/pis/{program.pi.pk}/objectives/{suffix}"


def test_a_lead_writes_the_team_objective_without_business_value(program, features):
    objective = objective_create(
        actor=program.users["ml_lead"],
        pi=program.pi,
        team=program.ml,
        title="Ranker v2 in shadow mode",
        committed=True,
        feature_ids=[features["ranker"].pk],
    )
    assert objective.planned_value is None
    assert list(objective.features.all()) == [features["ranker"]]


def test_a_lead_may_not_set_business_value(program):
    with pytest.raises(PermissionDenied):
        objective_create(
            actor=program.users["ml_lead"],
            pi=program.pi,
            team=program.ml,
            title="x",
            planned_value=5,
        )
    assert not Objective.objects.exists()


def test_a_lead_may_not_write_another_teams_objective(program):
    with pytest.raises(PermissionDenied):
        objective_create(actor=program.users["lab_lead"], pi=program.pi, team=program.ml, title="x")


def test_the_po_sets_planned_and_actual_value(program):
    objective = _objective(program, planned_value=None)
    objective = objective_update(
        actor=program.users["po"],
        objective=objective,
        changes={"planned_value": "7", "actual_value": 6},
        expected_version=1,
    )
    assert (objective.planned_value, objective.actual_value, objective.version) == (7, 6, 2)


def test_business_value_outside_its_range_names_the_field_and_writes_nothing(program):
    objective = _objective(program)
    with pytest.raises(InvalidInput) as refused:
        objective_update(
            actor=program.users["po"],
            objective=objective,
            changes={"planned_value": 11},
            expected_version=1,
        )
    assert refused.value.field == "planned_value"
    objective.refresh_from_db()
    assert objective.planned_value == 8 and objective.version == 1


def test_a_stale_edit_is_refused_and_writes_nothing(program):
    objective = _objective(program)
    objective_update(
        actor=program.users["ml_lead"],
        objective=objective,
        changes={"title": "new"},
        expected_version=1,
    )
    with pytest.raises(StaleVersion):
        objective_update(
            actor=program.users["po"],
            objective=objective,
            changes={"actual_value": 3},
            expected_version=1,
        )
    objective.refresh_from_db()
    assert objective.actual_value is None and objective.title == "new"


def test_a_feature_of_another_pi_is_refused(program, earlier_pi):
    from programs.models import Feature

    other = Feature.objects.create(pi=earlier_pi, team=program.ml, title="old")
    with pytest.raises(InvalidInput) as refused:
        objective_create(
            actor=program.users["ml_lead"],
            pi=program.pi,
            team=program.ml,
            title="x",
            feature_ids=[other.pk],
        )
    assert refused.value.field == "features"


# --- API -------------------------------------------------------------------------------------


def test_api_create_patch_and_stale_409(program, api, features):
    created = api("ml_lead").post(
        url(program),
        {"team": "ML", "title": "Ranker v2", "features": [features["ranker"].pk]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["team"] == "ML" and body["planned_value"] is None and body["version"] == 1
    patched = api("po").patch(
        url(program, f"{body['id']}/"), {"planned_value": 9, "version": 1}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["planned_value"] == 9
    stale = api("po").patch(
        url(program, f"{body['id']}/"), {"actual_value": 9, "version": 1}, format="json"
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"


def test_api_400_names_the_field(program, api):
    objective = _objective(program)
    response = api("po").patch(
        url(program, f"{objective.pk}/"), {"actual_value": 12, "version": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "actual_value"


@pytest.mark.parametrize("role", ["ml_member", "viewer"])
def test_api_member_and_viewer_get_403(program, api, role):
    objective = _objective(program)
    create = api(role).post(url(program), {"team": "ML", "title": "x"}, format="json")
    patch = api(role).patch(
        url(program, f"{objective.pk}/"), {"title": "y", "version": 1}, format="json"
    )
    delete = api(role).delete(url(program, f"{objective.pk}/"))
    assert (create.status_code, patch.status_code, delete.status_code) == (403, 403, 403)
    objective.refresh_from_db()
    assert objective.title == "Ranker v2 in shadow mode" and Objective.objects.count() == 1


def test_api_predictability_per_team_program_and_history(program, api):
    _objective(program, actual_value=8)
    _objective(program, committed=False, planned_value=3, actual_value=3)
    body = api("viewer").get(f"/api/v1/pis/{program.pi.pk}/predictability/").json()
    teams = {row["team"]: row for row in body["teams"]}
    assert teams["ML"]["percent"] == 137.5
    assert teams["LAB"]["percent"] is None and teams["LAB"]["state"] == "no_commitment"
    assert body["program"]["percent"] == 137.5
    assert [point["pi"] for point in body["history"]] == ["PI 2027.1"]


# --- page ------------------------------------------------------------------------------------


def test_page_shows_figures_and_only_the_forms_the_user_may_use(program, client):
    _objective(program, actual_value=7)
    html = login(client, program, "ml_lead").get(f"/pi/{program.pi.pk}/objectives/").content
    html = html.decode()
    assert "Ranker v2 in shadow mode" in html and "88%" in html
    assert "Add an objective for ML Engineering" in html
    assert "Add an objective for Data Labeling" not in html
    assert 'name="planned_value"' not in html  # the lead does not set business value
    viewer = login(client, program, "viewer").get(f"/pi/{program.pi.pk}/objectives/")
    assert "Add an objective" not in viewer.content.decode()


def test_page_forged_post_by_a_member_is_refused(program, client):
    response = login(client, program, "ml_member").post(
        f"/pi/{program.pi.pk}/objectives/add/", {"team": program.ml.pk, "title": "forged"}, **HTMX
    )
    assert response.status_code == 403
    assert "may not change the objectives of ML Engineering" in response.content.decode()
    assert not Objective.objects.exists()


def test_page_error_is_shown_beside_the_field(program, client):
    response = login(client, program, "ml_lead").post(
        f"/pi/{program.pi.pk}/objectives/add/", {"team": program.ml.pk, "title": " "}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert html.strip().startswith('<div id="objectives-body">')
    field = html.split(f'id="new-title-{program.ml.pk}"', 1)[1].split("</div>", 1)[0]
    assert "Say what the team will deliver" in field


def test_page_stale_edit_answers_409_with_the_current_values(program, client):
    objective = _objective(program)
    objective_update(
        actor=program.users["ml_lead"],
        objective=objective,
        changes={"title": "theirs"},
        expected_version=1,
    )
    response = login(client, program, "po").post(
        f"/pi/{program.pi.pk}/objectives/{objective.pk}/",
        {"version": 1, "planned_value": "3", "actual_value": ""},
        **HTMX,
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    objective.refresh_from_db()
    assert objective.planned_value == 8
