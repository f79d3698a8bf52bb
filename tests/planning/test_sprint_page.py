"""The sprint page shows scenario 2 to people: the goal's chance and bottleneck, slipping
tickets, capacity changes (recorded by leads, with errors beside the field), what-if
previews that save nothing, and the Definition of Done matrix."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from planning import services
from planning.models import CapacityAdjustment
from quality.demo import scenario_one_criteria
from quality.services import definition_revise

from ..factories import TicketFactory
from .conftest import SPRINT_END, TODAY, TUESDAY
from .test_bottleneck_scenario import halve_labeling, row_counts

HTMX = {"HTTP_HX_REQUEST": "true"}


def _lab_capacity(sprint):
    from planning.selectors import sprint_capacity

    return next(s for s in sprint_capacity(sprint) if s.team_key == "LAB")


def page(client, user, sprint) -> str:
    client.force_login(user)
    response = client.get(f"/sprints/{sprint.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_goal_card_shows_the_chance_the_outlook_in_words_and_the_bottleneck(
    scenario, bottleneck, client
):
    halve_labeling(scenario, bottleneck.sprint)
    result = services.forecast_refresh(sprint=bottleneck.sprint, today=TODAY).result
    (goal,) = result["goals"]
    html = page(client, scenario.users["po"], bottleneck.sprint)
    assert f"<strong>{round(goal['p_met'] * 100)}%</strong>" in html
    assert 'P(goal met) by Fri Nov 27 · <span class="outlook-word">at risk</span>' in html
    team = {"LAB": "Data Labeling", "ML": "ML Engineering", "QA": "QA"}[goal["bottleneck_team"]]
    share = round(goal["failure_share_by_team"][goal["bottleneck_team"]] * 100)
    expected = (
        f"Bottleneck: <strong>{team}</strong> — the longest step on the critical chain in {share}%"
    )
    assert expected in html


def test_slipping_tickets_are_flagged_with_their_p85_date(scenario, bottleneck, client):
    halve_labeling(scenario, bottleneck.sprint)
    result = services.forecast_refresh(sprint=bottleneck.sprint, today=TODAY).result
    html = page(client, scenario.users["viewer"], bottleneck.sprint)
    train = bottleneck.tickets["train"].key
    p85 = result["tickets"][train]["p85"]
    assert p85 > SPRINT_END.isoformat()
    row = html.split(f'id="ticket-{train}"', 1)[1].split("</tbody>", 1)[0]
    assert "⚠ P85" in row


def test_lead_records_a_capacity_change_from_the_page(scenario, bottleneck, client):
    client.force_login(scenario.users["lab_lead"])
    response = client.post(
        f"/sprints/{bottleneck.sprint.pk}/adjustments/",
        {
            "team": scenario.lab.pk,
            "from_date": TUESDAY,
            "to_date": SPRINT_END,
            "factor": "0.5",
            "reason": "annotation tool bug",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<section class="card capacity" id="capacity"')
    assert "Data Labeling \u00d7 0.5" in html and "annotation tool bug" in html
    assert CapacityAdjustment.objects.count() == 1


def test_a_negative_factor_is_explained_beside_the_field_and_nothing_saved(
    scenario, bottleneck, client
):
    client.force_login(scenario.users["lab_lead"])
    response = client.post(
        f"/sprints/{bottleneck.sprint.pk}/adjustments/",
        {
            "team": scenario.lab.pk,
            "from_date": TUESDAY,
            "to_date": SPRINT_END,
            "factor": "-1",
            "reason": "oops",
        },
        **HTMX,
    )
    assert response.status_code == 400
    assert 'class="field has-error"><label for="id_factor">' in response.content.decode()
    assert not CapacityAdjustment.objects.exists()


def test_a_member_gets_no_form_and_a_forged_change_is_refused(scenario, bottleneck, client):
    html = page(client, scenario.users["lab_member"], bottleneck.sprint)
    assert "Record a capacity change" not in html
    response = client.post(
        f"/sprints/{bottleneck.sprint.pk}/adjustments/",
        {
            "team": scenario.lab.pk,
            "from_date": TUESDAY,
            "to_date": SPRINT_END,
            "factor": "0.5",
            "reason": "forged",
        },
        **HTMX,
    )
    assert response.status_code == 403
    assert "may not change the capacity of Data Labeling" in response.content.decode()
    assert not CapacityAdjustment.objects.exists()


def test_what_if_from_the_page_previews_the_gain_and_saves_nothing(scenario, bottleneck, client):
    halve_labeling(scenario, bottleneck.sprint)
    services.forecast_refresh(sprint=bottleneck.sprint, today=TODAY)
    before = row_counts()
    client.force_login(scenario.users["sm"])
    response = client.post(
        f"/sprints/{bottleneck.sprint.pk}/what-if/",
        {"remove_ticket": bottleneck.tickets["low_light"].key},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "% → " in html and "P(goal met)" in html
    assert row_counts() == before


def test_what_if_with_half_a_change_names_the_missing_fields(scenario, bottleneck, client):
    client.force_login(scenario.users["sm"])
    response = client.post(
        f"/sprints/{bottleneck.sprint.pk}/what-if/", {"move_from": scenario.qa.pk}, **HTMX
    )
    assert response.status_code == 400
    assert response.content.decode().count("Needed with the other fields of this change.") == 2


def test_definition_of_done_matrix_shows_pass_fail_missing(scenario, bottleneck, client):
    teams = {"LAB": scenario.lab, "ML": scenario.ml, "QA": scenario.qa}
    definition_revise(actor=scenario.users["sm"], criteria=scenario_one_criteria(teams))
    bottleneck.tickets["label"].type = "labeling_batch"
    bottleneck.tickets["label"].save()
    html = page(client, scenario.users["viewer"], bottleneck.sprint)
    # A column per ticket: the matrix loads when it scrolls into view, not with the page.
    assert "… missing" not in html
    assert f'hx-get="/sprints/{bottleneck.sprint.pk}/dod/"' in html
    matrix = client.get(f"/sprints/{bottleneck.sprint.pk}/dod/", **HTMX).content.decode()
    assert "Definition of Done" in matrix and "version 1" in matrix
    assert "… missing" in matrix
    assert "not met yet" in matrix
    # Without JavaScript, ?full=1 shows it in the page.
    whole = client.get(f"/sprints/{bottleneck.sprint.pk}/?full=1").content.decode()
    assert "… missing" in whole and "not met yet" in whole


def _page_queries(client, sprint) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/sprints/{sprint.pk}/").status_code == 200
    return len(captured.captured_queries)


def _link_decisions(scenario, sprint, count: int) -> None:
    from programs.models import Program
    from programs.services.governance import decision_create

    program, _ = Program.objects.get_or_create(name="Decisions for the page")
    for n in range(count):
        decision_create(
            actor=scenario.users["sm"],
            program=program,
            title=f"decision {n}",
            context="c",
            decision="d",
            sprint_ids=[sprint.pk],
        )


def test_full_sprint_page_query_count_does_not_grow_with_tickets(scenario, bottleneck, client):
    teams = {"LAB": scenario.lab, "ML": scenario.ml, "QA": scenario.qa}
    definition_revise(actor=scenario.users["sm"], criteria=scenario_one_criteria(teams))
    halve_labeling(scenario, bottleneck.sprint)
    services.forecast_refresh(sprint=bottleneck.sprint, today=TODAY)
    client.force_login(scenario.users["sm"])
    _link_decisions(scenario, bottleneck.sprint, 1)  # the decisions panel: one query
    few = _page_queries(client, bottleneck.sprint)
    for team in (scenario.lab, scenario.ml, scenario.qa):
        for _ in range(8):
            TicketFactory(team=team, sprint=bottleneck.sprint, type="labeling_batch")
    _link_decisions(scenario, bottleneck.sprint, 4)
    services.forecast_refresh(sprint=bottleneck.sprint, today=TODAY)
    assert _page_queries(client, bottleneck.sprint) == few


def test_lead_sets_days_off_and_part_time_and_capacity_follows(scenario, bottleneck, client):
    client.force_login(scenario.users["lab_lead"])
    before = _lab_capacity(bottleneck.sprint)
    lead_id = scenario.users["lab_lead"].pk
    response = client.post(
        f"/sprints/{bottleneck.sprint.pk}/capacity/LAB/",
        {
            "focus_factor": "0.8",
            f"part_time_{lead_id}": "50",
            f"days_off_{lead_id}": TUESDAY.isoformat(),
        },
        **HTMX,
    )
    assert response.status_code == 200
    after = _lab_capacity(bottleneck.sprint)
    assert after.available_person_days < before.available_person_days
    assert TUESDAY.isoformat() in response.content.decode()


def test_a_day_off_outside_the_sprint_is_refused_with_the_reason(scenario, bottleneck, client):
    client.force_login(scenario.users["lab_lead"])
    lead_id = scenario.users["lab_lead"].pk
    response = client.post(
        f"/sprints/{bottleneck.sprint.pk}/capacity/LAB/",
        {f"part_time_{lead_id}": "100", f"days_off_{lead_id}": "2030-01-07"},
        **HTMX,
    )
    assert response.status_code == 400
    assert "outside the sprint" in response.content.decode()


def test_a_member_sees_availability_but_cannot_change_it(scenario, bottleneck, client):
    html = page(client, scenario.users["lab_member"], bottleneck.sprint)
    assert "Save availability" not in html
    response = client.post(
        f"/sprints/{bottleneck.sprint.pk}/capacity/LAB/", {"focus_factor": "0.5"}, **HTMX
    )
    assert response.status_code == 403


def test_teams_with_nothing_in_the_sprint_are_folded_away_and_capacity_follows_changes(
    scenario, bottleneck, client
):
    from ..factories import TeamFactory

    TeamFactory(name="Ranking squad", key_prefix="RNK")  # another program's squad
    halve_labeling(scenario, bottleneck.sprint)
    client.force_login(scenario.users["po"])
    html = client.get(f"/sprints/{bottleneck.sprint.pk}/").content.decode()
    capacity = html[html.index('id="capacity-title"') :]
    folded = capacity.index("1 more team with nothing committed or set in this sprint")
    assert capacity.index("Ranking squad") > folded > capacity.index("Data Labeling")
    assert "before capacity changes" in html  # labeling's figure after the halving, and before


def test_what_if_previews_several_changes_at_once_with_dates_in_words(scenario, bottleneck, client):
    halve_labeling(scenario, bottleneck.sprint)
    services.forecast_refresh(sprint=bottleneck.sprint, today=TODAY)
    client.force_login(scenario.users["po"])
    response = client.post(
        f"/sprints/{bottleneck.sprint.pk}/what-if/",
        {
            "remove_ticket": [
                bottleneck.tickets["low_light"].key,
                bottleneck.tickets["validate"].key,
            ],
            "move_from": scenario.qa.pk,
            "move_to": scenario.lab.pk,
            "move_days": "3",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("taken out") == 2
    assert "85% sure by" in html and "-11-" not in html  # dates read "Tue Nov 24", not ISO


def test_the_options_panel_shows_apply_only_to_those_allowed(scenario, bottleneck, client):
    halve_labeling(scenario, bottleneck.sprint)
    services.forecast_refresh(sprint=bottleneck.sprint, today=TODAY)
    url = f"/sprints/{bottleneck.sprint.pk}/options/"
    client.force_login(scenario.users["viewer"])
    html = client.get(url).content.decode()
    assert "What should we do?" in html and "Lend" in html and 'name="reason"' not in html
    assert "Capacity: LAB is the longest step" in html
    client.force_login(scenario.users["po"])
    html = client.get(url).content.decode()
    assert 'name="reason"' in html and "Apply…" in html


def test_applying_from_the_panel_without_a_reason_changes_nothing(scenario, bottleneck, client):
    from planning.models import PlanDecision

    halve_labeling(scenario, bottleneck.sprint)
    services.forecast_refresh(sprint=bottleneck.sprint, today=TODAY)
    client.force_login(scenario.users["sm"])
    response = client.post(
        f"/sprints/{bottleneck.sprint.pk}/options/apply/",
        {"kind": "take_out", "params": '{"key": "QA-3"}', "reason": ""},
        **HTMX,
    )
    assert response.status_code == 400
    assert "Say why" in response.content.decode()
    assert not PlanDecision.objects.exists()
