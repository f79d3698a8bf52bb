"""The "What should we do?" panel through the API: the same ranked options as the page
(scenario 2: labeling halved), applied exactly as listed through the services by those
allowed; explicit assumptions about an unplanned blocker recorded and removed."""

import pytest

from planning.models import ForecastAssumption, PlanDecision

from .test_capacity_calendar import waiting_goal  # noqa: F401 (fixture)
from .test_options import halved  # noqa: F401 (fixture)


def _options(client, sprint):
    return client.get(f"/api/v1/sprints/{sprint.pk}/options/")


def test_options_list_the_panels_choices_best_first_with_who_may_apply(api, halved):  # noqa: F811
    answer = _options(api("sm"), halved.sprint)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ready" and body["options"]
    chances = [row["p_met"] for row in body["options"]]
    assert chances == sorted(chances, reverse=True)
    lend = next(
        row
        for row in body["options"]
        if row["kind"] == "lend"
        and (row["params"]["from_team"], row["params"]["to_team"]) == ("QA", "LAB")
    )
    assert lend["gain"] > 0 and lend["p_met"] > body["p_met"]
    assert lend["outlook"] in ("on track", "uncertain", "at risk")
    viewer_rows = _options(api("viewer"), halved.sprint).json()["options"]
    assert viewer_rows and not any(row["may_apply"] for row in viewer_rows)


def test_applying_a_listed_option_records_the_decision_with_the_reason(api, halved):  # noqa: F811
    sm = api("sm")
    lend = next(
        row for row in _options(sm, halved.sprint).json()["options"] if row["kind"] == "lend"
    )

    answer = sm.post(
        f"/api/v1/sprints/{halved.sprint.pk}/options/apply/",
        {"kind": lend["kind"], "params": lend["params"], "reason": "QA has slack"},
        format="json",
    )

    assert answer.status_code == 201
    body = answer.json()
    assert body["decided_by"] == "sm" and body["reason"] == "QA has slack"
    assert body["p_met_previewed"] > body["p_met_before"]
    assert PlanDecision.objects.count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "take_out", "params": {"key": "NOPE-1"}, "reason": "stale page"}, None),
        ({"kind": "take_out", "params": {"key": "NOPE-1"}, "reason": ""}, "reason"),
        ({"kind": "take_out", "reason": "no params"}, "params"),
    ],
)
def test_an_option_not_on_offer_or_without_a_reason_is_refused_and_changes_nothing(
    api,
    halved,  # noqa: F811
    body,
    field,
):
    answer = api("sm").post(
        f"/api/v1/sprints/{halved.sprint.pk}/options/apply/", body, format="json"
    )
    assert answer.status_code == 400
    if field:
        assert field in str(answer.json())
    else:
        assert answer.json()["code"] == "option_gone"
    assert PlanDecision.objects.count() == 0


def test_a_viewer_may_not_apply_an_option(api, halved):  # noqa: F811
    row = _options(api("sm"), halved.sprint).json()["options"][0]
    answer = api("viewer").post(
        f"/api/v1/sprints/{halved.sprint.pk}/options/apply/",
        {"kind": row["kind"], "params": row["params"], "reason": "trying"},
        format="json",
    )
    assert answer.status_code == 403
    assert PlanDecision.objects.count() == 0


def test_assumptions_are_recorded_listed_and_removed_by_the_scrum_master(
    api,
    waiting_goal,  # noqa: F811
):
    sprint, _, blocker = waiting_goal
    url = f"/api/v1/sprints/{sprint.pk}/assumptions/"
    refused = api("po").post(url, {"ticket": blocker.key, "note": "x"}, format="json")
    assert refused.status_code == 403 and not ForecastAssumption.objects.exists()

    made = api("sm").post(
        url, {"ticket": blocker.key, "note": "labeling squeezes it in"}, format="json"
    )

    assert made.status_code == 201 and made.json()["ticket"] == blocker.key
    listed = api("viewer").get(url).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(r["ticket"], r["note"]) for r in rows] == [(blocker.key, "labeling squeezes it in")]
    assert api("sm").delete(f"{url}{made.json()['id']}/").status_code == 204
    assert not ForecastAssumption.objects.exists()
