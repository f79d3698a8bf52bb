"""The shared Definition of Done page: versions, criteria by team, SM edits, PO accepts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from quality.demo import scenario_one_criteria
from quality.models import DefinitionOfDone
from quality.services import definition_accept, definition_revise

HTMX = {"HTTP_HX_REQUEST": "true"}


def as_user(client, user):
    client.force_login(user)
    return client


def teams_of(scenario) -> dict:
    return {"LAB": scenario.lab, "ML": scenario.ml, "QA": scenario.qa}


@pytest.fixture
def dod(scenario):
    return definition_revise(
        actor=scenario.users["sm"],
        criteria=scenario_one_criteria(teams_of(scenario)),
        note="Agreed in planning.",
    )


def new_criterion(scenario, **overrides) -> dict:
    body = {
        "seen_version": "1",
        "text": "Model card written",
        "team": str(scenario.ml.pk),
        "kind": "manual",
        "metric_key": "",
        "comparator": "",
        "threshold": "",
        "ticket_types": ["training_run"],
        "note": "",
    }
    body.update(overrides)
    return body


def codes(definition) -> list[str]:
    return list(definition.criteria.order_by("position").values_list("code", flat=True))


def test_login_required(db, client):
    for path in ["/dod/", "/dod/criteria/"]:
        response = client.get(path) if path == "/dod/" else client.post(path, {})
        assert response.status_code == 302
        assert response.url.startswith("/login/")


def test_page_shows_version_in_force_grouped_by_team_with_rules_in_words(scenario, client, dod):
    html = as_user(client, scenario.users["viewer"]).get("/dod/").content.decode()
    assert "Version 1 is in force" in html
    assert "Agreed in planning." in html
    assert "Not accepted yet" in html
    # Grouped by owning team, in team-name order.
    assert html.index("Data Labeling") < html.index("ML Engineering") < html.index(">QA <")
    assert "iaa ≥ 0.98" in html
    assert "test_accuracy &gt; 0.9" in html
    assert "applies to: Labeling batch tickets" in html
    assert "entry gate" in html
    assert "needs artifacts: code commit, dataset version" in html
    assert "Version history" in html
    # A viewer sees no forms.
    assert "<form" not in html.split('id="dod-body"')[1]
    assert "Add a criterion" not in html and "Accept version" not in html


def test_lead_sees_no_forms(scenario, client, dod):
    html = as_user(client, scenario.users["lab_lead"]).get("/dod/").content.decode()
    assert "Add a criterion" not in html and "Remove" not in html and "Accept version" not in html


def test_scrum_master_adds_a_criterion_as_a_new_version(scenario, client, dod):
    client = as_user(client, scenario.users["sm"])
    response = client.post("/dod/criteria/", new_criterion(scenario))
    assert response.status_code == 302 and response.url == "/dod/"
    latest = DefinitionOfDone.objects.get(version=2)
    assert codes(latest) == [
        "iaa",
        "test-accuracy",
        "qa-acceptance",
        "committed",
        "model-card-written",
    ]
    added = latest.criteria.get(code="model-card-written")
    assert (added.team, added.kind, added.ticket_types) == (scenario.ml, "manual", ["training_run"])
    kept = latest.criteria.get(code="iaa")
    assert (kept.metric_key, kept.comparator, str(kept.threshold.normalize())) == (
        "iaa",
        ">=",
        "0.98",
    )
    assert kept.entry_gate and kept.ticket_types == ["labeling_batch"]
    assert latest.created_by == scenario.users["sm"] and "Model card written" in latest.note
    assert codes(dod) == ["iaa", "test-accuracy", "qa-acceptance", "committed"]  # v1 unchanged
    html = client.get("/dod/").content.decode()
    assert "Version 2 is in force" in html and "Model card written" in html


def test_adding_the_first_criterion_starts_the_definition(scenario, client):
    client = as_user(client, scenario.users["sm"])
    html = client.get("/dod/").content.decode()
    assert "No Definition of Done yet" in html and "add the first criterion" in html
    body = new_criterion(
        scenario,
        seen_version="0",
        text="Inter-annotator agreement ≥ 0.98",
        team=str(scenario.lab.pk),
        kind="metric",
        metric_key="iaa",
        comparator=">=",
        threshold="0.98",
        ticket_types=["labeling_batch"],
        entry_gate="on",
    )
    response = client.post("/dod/criteria/", body, **HTMX)
    assert response.status_code == 200
    assert "Version 1 written" in response.content.decode()
    assert DefinitionOfDone.objects.get().criteria.get().entry_gate


def test_others_are_told_the_scrum_master_sets_it_up(scenario, client):
    html = as_user(client, scenario.users["po"]).get("/dod/").content.decode()
    assert "No Definition of Done yet" in html and "The Scrum master sets it up" in html
    assert "Add a criterion" not in html


def test_scrum_master_removes_a_criterion(scenario, client, dod):
    client = as_user(client, scenario.users["sm"])
    response = client.post("/dod/criteria/committed/remove/", {"seen_version": "1"}, **HTMX)
    assert response.status_code == 200
    assert "removed “Code and data committed”" in response.content.decode()
    latest = DefinitionOfDone.objects.get(version=2)
    assert codes(latest) == ["iaa", "test-accuracy", "qa-acceptance"]
    assert latest.note == "Removed “Code and data committed”."


@pytest.mark.parametrize("role", ["po", "lab_lead", "viewer"])
def test_others_posting_the_add_form_get_403_and_nothing_is_written(scenario, client, dod, role):
    client = as_user(client, scenario.users[role])
    response = client.post("/dod/criteria/", new_criterion(scenario), **HTMX)
    assert response.status_code == 403
    assert "Only the Scrum master" in response.content.decode()
    response = client.post("/dod/criteria/iaa/remove/", {"seen_version": "1"}, **HTMX)
    assert response.status_code == 403
    assert DefinitionOfDone.objects.count() == 1


def test_metric_without_threshold_is_refused_beside_the_field(scenario, client, dod):
    client = as_user(client, scenario.users["sm"])
    body = new_criterion(scenario, kind="metric", metric_key="f1", comparator=">=", threshold="")
    response = client.post("/dod/criteria/", body, **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    field = html.split('for="id_threshold"')[1].split("</div>")[0]
    assert "threshold must be a number." in field
    assert 'class="field has-error"' in html.split('for="id_threshold"')[0][-80:]
    assert DefinitionOfDone.objects.count() == 1
    # The user's input is kept.
    assert 'value="Model card written"' in html


def test_change_on_an_old_page_is_refused(scenario, client, dod):
    client = as_user(client, scenario.users["sm"])
    client.post("/dod/criteria/committed/remove/", {"seen_version": "1"})
    response = client.post("/dod/criteria/", new_criterion(scenario), **HTMX)
    assert response.status_code == 409
    assert "changed while you were looking (now version 2)" in response.content.decode()
    assert DefinitionOfDone.objects.count() == 2


def test_product_owner_accepts_the_version_in_force(scenario, client, dod):
    as_user(client, scenario.users["sm"])
    assert client.post("/dod/versions/1/accept/", **HTMX).status_code == 403
    client = as_user(client, scenario.users["po"])
    html = client.get("/dod/").content.decode()
    assert "Accept version 1" in html and "Add a criterion" not in html
    response = client.post("/dod/versions/1/accept/")
    assert response.status_code == 302
    dod.refresh_from_db()
    assert dod.accepted_by == scenario.users["po"] and dod.accepted_at
    html = client.get("/dod/").content.decode()
    assert "✓ Accepted" in html and "Accept version 1" not in html


def test_accepting_an_older_version_is_a_conflict(scenario, client, dod):
    as_user(client, scenario.users["sm"]).post(
        "/dod/criteria/committed/remove/", {"seen_version": "1"}
    )
    response = as_user(client, scenario.users["po"]).post("/dod/versions/1/accept/", **HTMX)
    assert response.status_code == 409
    assert "no longer in force" in response.content.decode()


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/dod/").status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_criteria_or_versions(scenario, client):
    sm = scenario.users["sm"]
    client = as_user(client, sm)
    definition_revise(actor=sm, criteria=scenario_one_criteria(teams_of(scenario))[:1])
    small = _page_queries(client)
    many = scenario_one_criteria(teams_of(scenario)) + [
        {"text": f"Check {n}", "kind": "manual", "team": scenario.qa} for n in range(12)
    ]
    for _ in range(6):  # every version accepted: the history shows who accepted each
        definition = definition_revise(actor=sm, criteria=many, note="Revised.")
        definition_accept(actor=scenario.users["po"], definition=definition)
    assert _page_queries(client) == small
    assert small <= 6  # session, user, nav teams, versions, criteria, teams (form)
