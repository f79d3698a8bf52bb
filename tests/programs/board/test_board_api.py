"""The board area's API: programs, PIs, milestones, features (move with expected_version,
tickets), the board and the forecast; 403/400/409 with nothing written."""

import pytest

from programs.models import Feature, Milestone, PlanningInterval
from programs.services import board as services


def test_programs_and_pis_list_with_iterations(program, api):
    client = api("viewer")
    (listed,) = client.get("/api/v1/programs/").json()["results"]
    assert listed["name"] == "Recommendation engine"
    assert [t["key"] for t in listed["teams"]] == ["LAB", "ML", "QA"]
    assert [i["name"] for i in listed["intervals"]] == ["PI 2027.1"]
    pi = client.get(f"/api/v1/pis/{program.pi.pk}/").json()
    assert [i["number"] for i in pi["iterations"]] == [1, 2, 3]
    assert pi["iterations"][0]["sprint_id"] == program.sprints[0].pk


def test_the_scrum_master_creates_a_pi_of_new_sprints(program, api):
    answer = api("sm").post(
        "/api/v1/pis/",
        {"program": program.program.pk, "name": "PI 2027.2", "start_date": "2027-03-01",
         "sprint_count": 3, "sprint_weeks": 2},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 201, answer.json()
    assert len(answer.json()["iterations"]) == 3


@pytest.mark.parametrize("role", ["viewer", "ml_member", "ml_lead"])
def test_viewers_members_and_leads_may_not_create_or_move(program, chain, api, role):
    client = api(role)
    created = client.post(
        "/api/v1/features/",
        {"pi": program.pi.pk, "team": program.ml.pk, "title": "x"},
        format="json",
    )
    moved = client.post(
        f"/api/v1/features/{chain.features['ml'].pk}/move/",
        {"planned_sprint": program.sprints[2].pk, "expected_version": 1},
        format="json",
    )
    assert (created.status_code, moved.status_code) == (403, 403)
    assert created.json()["code"] == "forbidden"
    assert Feature.objects.count() == 3
    assert (
        Feature.objects.get(pk=chain.features["ml"].pk).planned_sprint_id == program.sprints[1].pk
    )


def test_a_stale_move_answers_409_with_the_current_feature(program, chain, api):
    client, feature = api("po"), chain.features["ml"]
    url = f"/api/v1/features/{feature.pk}/move/"
    first = client.post(
        url, {"planned_sprint": program.sprints[2].pk, "expected_version": 1}, format="json"
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = client.post(url, {"planned_sprint": None, "expected_version": 1}, format="json")
    assert stale.status_code == 409
    body = stale.json()
    assert (
        body["code"] == "stale_version"
        and body["current"]["planned_sprint"] == program.sprints[2].pk
    )


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (
            "/api/v1/features/",
            {"team": "ml", "title": "F", "planned_sprint": 99999},
            "planned_sprint",
        ),
        ("/api/v1/features/", {"team": "ml", "title": "F", "milestone": "other"}, "milestone"),
        ("/api/v1/features/", {"team": "ml"}, "title"),
        ("/api/v1/milestones/", {"name": "M", "date": "2030-01-01"}, "date"),
        ("/api/v1/pis/", {"program": "p", "name": "X", "sprint_ids": [99999]}, "sprints"),
        ("/api/v1/pis/", {"program": 99999, "name": "X", "sprint_ids": [1]}, "program"),
    ],
)
def test_bad_input_answers_400_naming_the_field_and_writes_nothing(
    program, chain, api, url, body, field
):
    other_pi = PlanningInterval.objects.create(
        program=program.program, name="Other", start_date="2027-06-01", end_date="2027-06-30"
    )
    other = Milestone.objects.create(pi=other_pi, name="M", date="2027-06-02")
    if url != "/api/v1/pis/":  # a new PI names no PI (an unknown field is refused)
        body = {"pi": program.pi.pk, **body}
    body = {k: {"ml": program.ml.pk, "other": other.pk, "p": program.program.pk}.get(v, v)
            if isinstance(v, str) else v for k, v in body.items()}  # fmt: skip
    counts = (Feature.objects.count(), Milestone.objects.count(), PlanningInterval.objects.count())
    answer = api("sm").post(url, body, format="json")
    assert answer.status_code == 400, answer.json()
    assert answer.json()["field"] == field
    assert (
        Feature.objects.count(),
        Milestone.objects.count(),
        PlanningInterval.objects.count(),
    ) == counts


def test_milestones_are_created_changed_and_deleted(program, api):
    client = api("sm")
    made = client.post(
        "/api/v1/milestones/",
        {"pi": program.pi.pk, "name": "Model v2", "date": "2027-01-29", "kind": "ml"},
        format="json",
    )
    assert made.status_code == 201
    url = f"/api/v1/milestones/{made.json()['id']}/"
    assert client.patch(url, {"date": "2027-01-22"}, format="json").json()["date"] == "2027-01-22"
    assert client.delete(url).status_code == 204
    listed = client.get(f"/api/v1/milestones/?pi={program.pi.pk}").json()["results"]
    assert [m["name"] for m in listed] == ["Platform release"]


def test_tickets_are_attached_and_detached_by_key(program, chain, api):
    from tests.factories import TicketFactory

    ticket = TicketFactory(team=program.ml)
    url = f"/api/v1/features/{chain.features['ml'].pk}/tickets/"
    client = api("sm")
    attached = client.post(url, {"ticket_keys": [ticket.key]}, format="json")
    assert ticket.key in attached.json()["ticket_keys"]
    taken = client.post(
        f"/api/v1/features/{chain.features['qa'].pk}/tickets/",
        {"ticket_keys": [ticket.key]},
        format="json",
    )
    assert taken.status_code == 400 and taken.json()["code"] == "in_other_feature"
    detached = client.delete(url, {"ticket_keys": [ticket.key]}, format="json")
    assert ticket.key not in detached.json()["ticket_keys"]


def test_board_colours_follow_the_engine_when_a_feature_is_moved(program, chain, api):
    services.pi_forecasts_recompute(full=True)
    client, ml, qa = api("sm"), chain.features["ml"], chain.features["qa"]

    def ml_to_qa():
        board = client.get(f"/api/v1/pis/{program.pi.pk}/board/").json()
        (link,) = [
            link for link in board["links"]
            if (link["provider_feature_id"], link["consumer_feature_id"]) == (ml.pk, qa.pk)
        ]  # fmt: skip
        return link["health"]

    assert ml_to_qa() == "green"  # ML planned I2, QA planned I3
    client.post(
        f"/api/v1/features/{qa.pk}/move/",
        {"planned_sprint": program.sprints[1].pk, "expected_version": 1},
        format="json",
    )
    assert ml_to_qa() == "orange"  # same iteration
    client.post(
        f"/api/v1/features/{qa.pk}/move/",
        {"planned_sprint": program.sprints[0].pk, "expected_version": 2},
        format="json",
    )
    assert ml_to_qa() == "red"  # consumer now planned before the provider delivers


def test_the_board_endpoint_has_columns_rows_cards_links_and_milestones(program, chain, api):
    services.pi_forecasts_recompute(full=True)
    board = api("viewer").get(f"/api/v1/pis/{program.pi.pk}/board/").json()
    assert [c["label"] for c in board["columns"]] == ["I1", "I2", "I3", "After the PI"]
    assert [r["key"] for r in board["rows"]][-1] == "milestones"
    card = next(c for c in board["cards"] if c["feature_id"] == chain.features["ml"].pk)
    assert card["planned_iteration"] == "I2" and card["forecast_iteration"] in {"I1", "I2"}
    assert board["back_loading"]["warning"] is True  # 2 of 3 planned in I2 and I3
    assert board["milestones"][0]["p_met"] is not None


def test_the_forecast_endpoint_gives_the_latest_run_and_staleness(program, chain, api):
    client = api("viewer")
    assert client.get(f"/api/v1/pis/{program.pi.pk}/forecast/").json() == {
        "status": "pending",
        "stale": True,
    }
    services.pi_forecasts_recompute()
    body = client.get(f"/api/v1/pis/{program.pi.pk}/forecast/").json()
    assert body["stale"] is False and body["computed_at"]
    assert set(body["result"]) == {"features", "milestones", "low_confidence_team_ids", "tickets"}


def test_a_pi_is_renamed_and_closed_by_the_product_owner_not_by_a_lead(program, api):
    url = f"/api/v1/pis/{program.pi.pk}/"
    assert api("lab_lead").patch(url, {"state": "closed"}, format="json").status_code == 403
    answer = api("po").patch(url, {"state": "closed", "name": "PI 27.1"}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["state"], answer.json()["name"]) == ("closed", "PI 27.1")
