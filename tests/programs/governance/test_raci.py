"""RACI: exactly one Accountable per activity; a row with zero or two is refused with the
activity named and nothing written. Only the Scrum master edits."""

import pytest

from programs.models import RaciActivity, RaciAssignment
from programs.raci import Column, RaciRowError, validate_row
from programs.services.governance import raci_activity_create, raci_row_set
from sprintplan.errors import InvalidInput, PermissionDenied

from .conftest import HTMX, login

COLUMNS = [Column("ML", "ML Engineering"), Column("product_owner", "Product Owner")]


def test_pure_row_with_one_accountable_is_accepted():
    assert validate_row("Model sign-off", {"ML": "r", "product_owner": "A"}, COLUMNS) == {
        "ML": "R",
        "product_owner": "A",
    }


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ({"ML": "R", "product_owner": "C"}, "it has none"),
        ({"ML": "A", "product_owner": "A"}, "it has 2: ML Engineering and Product Owner"),
    ],
)
def test_pure_zero_or_two_accountables_are_refused_naming_the_activity(row, says):
    with pytest.raises(RaciRowError) as refused:
        validate_row("Model sign-off", row, COLUMNS)
    assert "“Model sign-off” needs exactly one Accountable" in refused.value.message
    assert says in refused.value.message


def test_pure_unknown_letters_and_columns_are_refused():
    with pytest.raises(RaciRowError):
        validate_row("x", {"ML": "Z", "product_owner": "A"}, COLUMNS)
    with pytest.raises(RaciRowError):
        validate_row("x", {"QA": "A"}, COLUMNS)


def _activity(program):
    return raci_activity_create(
        actor=program.users["sm"],
        program=program.program,
        name="Model sign-off",
        row={"ML": "R", "QA": "C", "product_owner": "A"},
    )


def _cells(activity):
    return {
        (a.team.key_prefix if a.team_id else a.role): a.letter
        for a in RaciAssignment.objects.filter(activity=activity).select_related("team")
    }


@pytest.mark.parametrize(
    "row",
    [{"ML": "R", "product_owner": "C"}, {"ML": "A", "product_owner": "A"}],
    ids=["zero", "two"],
)
def test_service_refuses_zero_or_two_accountables_and_writes_nothing(program, row):
    activity = _activity(program)
    with pytest.raises(InvalidInput) as refused:
        raci_row_set(actor=program.users["sm"], activity=activity, row=row)
    assert "Model sign-off" in refused.value.message
    assert _cells(activity) == {"ML": "R", "QA": "C", "product_owner": "A"}
    with pytest.raises(InvalidInput):
        raci_activity_create(
            actor=program.users["sm"], program=program.program, name="Release decision", row=row
        )
    assert RaciActivity.objects.count() == 1


def test_service_replaces_the_whole_row(program):
    activity = _activity(program)
    raci_row_set(
        actor=program.users["sm"], activity=activity, row={"LAB": "I", "scrum_master": "A"}
    )
    assert _cells(activity) == {"LAB": "I", "scrum_master": "A"}


def test_only_the_scrum_master_edits(program):
    with pytest.raises(PermissionDenied):
        raci_activity_create(
            actor=program.users["po"], program=program.program, name="x", row={"ML": "A"}
        )


def test_api_put_of_a_whole_row(program, api):
    activity = _activity(program)
    url = f"/api/v1/programs/{program.program.pk}/raci/{activity.pk}/"
    ok = api("sm").put(url, {"row": {"LAB": "R", "ML": "A"}}, format="json")
    assert ok.status_code == 200 and ok.json()["accountable"] == "ML"
    refused = api("sm").put(url, {"row": {"LAB": "A", "ML": "A"}}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "row"
    assert "Model sign-off" in refused.json()["detail"]
    assert _cells(activity) == {"LAB": "R", "ML": "A"}
    listing = api("viewer").get(f"/api/v1/programs/{program.program.pk}/raci/").json()
    assert [c["key"] for c in listing["columns"]] == [
        "LAB",
        "ML",
        "QA",
        "scrum_master",
        "product_owner",
    ]


@pytest.mark.parametrize("role", ["ml_member", "viewer", "ml_lead"])
def test_api_others_get_403(program, api, role):
    activity = _activity(program)
    url = f"/api/v1/programs/{program.program.pk}/raci/{activity.pk}/"
    assert api(role).put(url, {"row": {"ML": "A"}}, format="json").status_code == 403
    assert _cells(activity) == {"ML": "R", "QA": "C", "product_owner": "A"}


def test_page_row_edit_with_htmx_swaps_the_row_and_shows_the_refusal(program, client):
    activity = _activity(program)
    login(client, program, "sm")
    url = f"/programs/{program.program.pk}/raci/{activity.pk}/"
    editor = client.get(f"{url}?edit=1", **HTMX).content.decode()
    assert editor.strip().startswith(f'<tr id="raci-{activity.pk}" class="raci-editing">')
    refused = client.post(
        url, {"name": "Model sign-off", "cell_ML": "A", "cell_product_owner": "A"}, **HTMX
    )
    assert refused.status_code == 400
    assert "needs exactly one Accountable (A); it has 2" in refused.content.decode()
    saved = client.post(url, {"name": "Model sign-off", "cell_ML": "A", "cell_QA": "I"}, **HTMX)
    assert saved.status_code == 200 and 'class="raci-editing"' not in saved.content.decode()
    assert _cells(activity) == {"ML": "A", "QA": "I"}


def test_page_forged_post_by_the_po_is_refused(program, client):
    activity = _activity(program)
    response = login(client, program, "po").post(
        f"/programs/{program.program.pk}/raci/{activity.pk}/", {"cell_ML": "A"}, **HTMX
    )
    assert response.status_code == 403
    assert _cells(activity) == {"ML": "R", "QA": "C", "product_owner": "A"}
    page = client.get(f"/programs/{program.program.pk}/raci/").content.decode()
    assert "Add an activity" not in page and "Edit<span" not in page
