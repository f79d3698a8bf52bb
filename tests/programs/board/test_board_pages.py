"""The program pages: list (with its empty state), a program with its PIs, the PI's board
with its forms for the Scrum master / Product Owner only, live refresh, and query counts
that do not grow with features and tickets."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from programs.models import Feature, Milestone, Program
from programs.services import board as services
from tests.factories import TicketFactory


def _client(client, user):
    client.force_login(user)
    return client


def test_the_program_list_tells_a_viewer_who_sets_programs_up(scenario, client):
    page = _client(client, scenario.users["viewer"]).get(reverse("program-list"))
    assert page.status_code == 200
    assert "No programs yet" in page.text and "Scrum master or the Product Owner" in page.text
    assert "New program" not in page.text


def test_the_scrum_master_creates_a_program_from_the_list(scenario, client):
    page = _client(client, scenario.users["sm"]).post(
        reverse("program-add"), {"name": "Recsys", "teams": [scenario.lab.pk, scenario.ml.pk]}
    )
    program = Program.objects.get(name="Recsys")
    assert page.status_code == 302 and page.url == reverse("program-detail", args=[program.pk])
    assert set(program.teams.all()) == {scenario.lab, scenario.ml}


def test_the_program_page_lists_teams_and_pis_with_board_links(program, client):
    page = _client(client, program.users["viewer"]).get(
        reverse("program-detail", args=[program.program.pk])
    )
    assert page.status_code == 200
    assert "PI 2027.1" in page.text and reverse("pi-board", args=[program.pi.pk]) in page.text
    assert "Data Labeling" in page.text and "No decisions recorded yet." in page.text
    assert "Plan a new PI" not in page.text


def test_a_pi_planned_on_the_program_page_opens_its_board(program, client):
    page = _client(client, program.users["sm"]).post(
        reverse("program-pi-add", args=[program.program.pk]),
        {"name": "PI 2027.2", "mode": "new", "start_date": "2027-03-01", "sprint_count": "6",
         "sprint_weeks": "2"},
    )  # fmt: skip
    pi = program.program.intervals.get(name="PI 2027.2")
    assert page.status_code == 302 and page.url == reverse("pi-board", args=[pi.pk])
    assert pi.iterations.count() == 6


def test_a_refused_pi_shows_the_message_beside_the_field(program, client):
    page = _client(client, program.users["sm"]).post(
        reverse("program-pi-add", args=[program.program.pk]),
        {"name": "PI 2027.2", "mode": "existing", "sprints": [program.sprints[0].pk]},
    )
    assert page.status_code == 400
    assert "A sprint belongs to at most one PI" in page.text


def test_the_board_shows_cards_dependencies_and_the_milestone_forecast(program, chain, client):
    services.pi_forecasts_recompute(full=True)
    page = _client(client, program.users["po"]).get(reverse("pi-board", args=[program.pi.pk]))
    assert page.status_code == 200
    text = page.text
    assert '<svg class="program-board"' in text and "Retrained recommender" in text
    assert (
        "LAB feature “Labeled batch” → ML feature “Retrained recommender”: <strong>green</strong>"
        in text
    )
    assert "P(milestone met)" in text and "Forecast updated" in text
    assert "Add a feature" in text and "Add a milestone" in text  # the PO plans


def test_members_and_viewers_see_the_board_without_planning_forms(program, chain, client):
    page = _client(client, program.users["lab_member"]).get(
        reverse("pi-board", args=[program.pi.pk])
    )
    assert page.status_code == 200
    assert "Add a feature" not in page.text and "Move</button>" not in page.text


def test_a_forged_move_by_a_member_is_refused(program, chain, client):
    feature = chain.features["ml"]
    page = _client(client, program.users["ml_member"]).post(
        reverse("pi-feature-move", args=[program.pi.pk, feature.pk]),
        {"planned_sprint": program.sprints[2].pk, "version": feature.version},
        headers={"HX-Request": "true"},
    )
    assert page.status_code == 403
    feature.refresh_from_db()
    assert feature.planned_sprint_id == program.sprints[1].pk


def test_a_stale_move_on_the_board_answers_409_and_says_so(program, chain, client):
    feature = chain.features["ml"]
    c = _client(client, program.users["sm"])
    url = reverse("pi-feature-move", args=[program.pi.pk, feature.pk])
    ok = c.post(
        url, {"planned_sprint": program.sprints[2].pk, "version": 1}, headers={"HX-Request": "true"}
    )
    assert ok.status_code == 200
    stale = c.post(
        url, {"planned_sprint": program.sprints[0].pk, "version": 1}, headers={"HX-Request": "true"}
    )
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    feature.refresh_from_db()
    assert feature.planned_sprint_id == program.sprints[2].pk


def test_a_milestone_outside_the_pi_is_refused_beside_its_field(program, client):
    page = _client(client, program.users["sm"]).post(
        reverse("pi-milestone-add", args=[program.pi.pk]),
        {"name": "Too late", "date": "2027-09-01", "kind": "ml"},
        headers={"HX-Request": "true"},
    )
    assert page.status_code == 400 and "must lie in the PI" in page.text
    assert Milestone.objects.count() == 1


def test_the_live_endpoint_answers_204_until_something_changes(program, chain, client):
    c = _client(client, program.users["viewer"])
    services.pi_forecasts_recompute(full=True)
    page = c.get(reverse("pi-board", args=[program.pi.pk]))
    token = page.context["change_token"]
    live = reverse("pi-board-live", args=[program.pi.pk])
    assert c.get(live, {"since": token}).status_code == 204
    services.feature_move(
        actor=program.users["sm"],
        feature=chain.features["qa"],
        planned_sprint=None,
        expected_version=1,
    )
    changed = c.get(live, {"since": token})
    assert changed.status_code == 200 and 'id="board-body"' in changed.text


def _grow(program, features: int, tickets: int) -> None:
    sm = program.users["sm"]
    for i in range(features):
        team = [program.lab, program.ml, program.qa][i % 3]
        keys = [TicketFactory(team=team, sprint=program.sprints[i % 3]).key for _ in range(tickets)]
        services.feature_create(
            actor=sm,
            pi=program.pi,
            team=team,
            title=f"Grown {Feature.objects.count()}",
            planned_sprint=program.sprints[i % 3],
            milestone=program.release,
            ticket_keys=keys,
        )
    services.pi_forecasts_recompute(full=True)


def _queries(c, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert c.get(url).status_code == 200
    return len(captured.captured_queries)


def test_board_page_and_board_api_query_counts_do_not_grow_with_features_and_tickets(
    program, chain, client, api
):
    c = _client(client, program.users["sm"])
    urls = [
        reverse("pi-board", args=[program.pi.pk]),
        reverse("pi-board-live", args=[program.pi.pk]),
        reverse("program-detail", args=[program.program.pk]),
        reverse("program-list"),
    ]
    api_client = api("viewer")
    api_urls = [f"/api/v1/pis/{program.pi.pk}/board/", f"/api/v1/pis/{program.pi.pk}/forecast/"]
    _grow(program, features=1, tickets=1)
    small = [_queries(c, u) for u in urls] + [_queries(api_client, u) for u in api_urls]
    _grow(program, features=6, tickets=5)
    large = [_queries(c, u) for u in urls] + [_queries(api_client, u) for u in api_urls]
    assert large == small
