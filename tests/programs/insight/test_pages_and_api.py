"""The Scrum of Scrums and indicators pages and endpoints: login required, read-only, and a
query count that does not grow with tickets, links, evidence, bugs, risks or forecast runs."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dependencies.services import insights_recompute
from programs.models import Objective, ProgramRisk
from quality.models import Criterion, Evidence
from tickets.models import TicketEvent

from .conftest import feature, forecast_run, link, make_ticket


def grow(program, n: int) -> None:
    """n more of everything the two views read."""
    i1, i2, i3 = program.sprints
    today = timezone.localdate()
    for number in range(n):
        lab = make_ticket(program.lab, i3, type="labeling_batch", size=Decimal(100))
        ml = make_ticket(program.ml, i1, type="training_run")
        qa = make_ticket(program.qa, i2)
        bug = make_ticket(program.qa, i2, type="bug")
        link(lab, ml)
        link(ml, qa)
        TicketEvent.objects.create(
            ticket=lab,
            at=timezone.now() - timedelta(days=1),
            field="progress",
            old_value="0",
            new_value="10",
        )
        criterion = Criterion.objects.create(
            ticket=ml,
            code="auc",
            team=program.ml,
            text="AUC",
            kind="metric",
            metric_key="auc",
            comparator=">",
            threshold=Decimal("0.8"),
        )
        Evidence.objects.create(
            criterion=criterion,
            ticket=ml,
            value=Decimal("0.81"),
            passed=True,
            source="mlflow",
            recorded_by_name="MLflow",
            recorded_at=timezone.now(),
        )
        made = feature(
            program.pi,
            program.ml,
            f"Feature {number}",
            planned_sprint=i2,
            milestone=program.release,
            tickets=[ml, qa, bug],
        )
        objective = Objective.objects.create(
            pi=program.pi, team=program.ml, title=f"Objective {number}", planned_value=5
        )
        objective.features.set([made])
        ProgramRisk.objects.create(
            pi=program.pi,
            title=f"Risk {number}",
            state="owned",
            owner=program.users["ml_lead"],
            follow_up=today + timedelta(days=2),
        )
        forecast_run(
            program.pi,
            features={str(made.id): {"p85": "2099-01-01", "p_by_planned": 0.2}},
            milestones={
                str(program.release.id): {"p_met": 0.5, "bottleneck_team_id": program.lab.id}
            },
            minutes_ago=number,
        )
    insights_recompute(full=True)


def count_queries(fetch) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = fetch()
    assert response.status_code == 200
    return len(queries), response


PAGES = ["/pi/{}/scrum-of-scrums/", "/pi/{}/indicators/"]
ENDPOINTS = ["/api/v1/pis/{}/scrum-of-scrums/", "/api/v1/pis/{}/indicators/"]


@pytest.mark.parametrize("path", PAGES)
def test_page_query_count_does_not_grow_with_rows(program, client, path):
    client.force_login(program.users["viewer"])
    url = path.format(program.pi.pk)
    grow(program, 1)
    few, _ = count_queries(lambda: client.get(url))
    grow(program, 6)
    many, response = count_queries(lambda: client.get(url))
    assert many == few
    assert "Risk 5" in response.content.decode() or "indicators" in url  # rows did grow


@pytest.mark.parametrize("path", ENDPOINTS)
def test_endpoint_query_count_does_not_grow_with_rows(program, api, path):
    client = api("viewer")
    url = path.format(program.pi.pk)
    grow(program, 1)
    few, _ = count_queries(lambda: client.get(url))
    grow(program, 6)
    many, _ = count_queries(lambda: client.get(url))
    assert many == few


@pytest.mark.parametrize("path", PAGES)
def test_pages_require_login(program, client, path):
    response = client.get(path.format(program.pi.pk))
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_endpoints_require_authentication(program, client, path):
    assert client.get(path.format(program.pi.pk)).status_code in (401, 403)


def test_unknown_pi_is_404_on_pages_and_api(program, client, api):
    client.force_login(program.users["viewer"])
    assert client.get("/pi/999999/scrum-of-scrums/").status_code == 404
    assert api("viewer").get("/api/v1/pis/999999/indicators/").status_code == 404


def test_scrum_of_scrums_page_shows_the_red_link_root_and_empty_states_in_words(
    program, client, chain
):
    client.force_login(program.users["viewer"])
    html = client.get(f"/pi/{program.pi.pk}/scrum-of-scrums/").content.decode()
    assert "✗ red" in html and chain.lab1.key in html
    assert "blocks 2 tickets" in html
    assert "No risk needs a review in the next 7 days" in html
    assert "no committed objectives yet" in html
    assert "no forecast yet" in html
    assert f'href="/pi/{program.pi.pk}/scrum-of-scrums/"' in html  # the program sub-nav


def test_scrum_of_scrums_endpoint_answers_the_same_facts(program, api, chain):
    body = api("viewer").get(f"/api/v1/pis/{program.pi.pk}/scrum-of-scrums/").json()
    (red,) = body["cross_team_blockers"]
    assert (red["health"], red["blocker"]["key"], red["blocked"]["key"]) == (
        "red",
        chain.lab1.key,
        chain.ml1.key,
    )
    assert [(r["key"], r["downstream_count"]) for r in body["root_blockers"]] == [
        (chain.lab1.key, 2),
        (chain.ml2.key, 1),
    ]
    assert body["milestones"][0]["p_met"] is None
    assert "50%" in body["objectives_at_risk"]["rule"]


def test_indicators_page_and_endpoint_show_each_chart_with_its_data(program, client, api):
    grow(program, 2)
    client.force_login(program.users["viewer"])
    html = client.get(f"/pi/{program.pi.pk}/indicators/").content.decode()
    for heading in [
        "Labeling throughput",
        "Model metric convergence",
        "Defect escape rate",
        "P(milestone met) over time",
    ]:
        assert heading in html
    assert html.count('<svg class="trend-svg"') >= 3
    assert html.count('<details class="indicator-data">') >= 3
    body = api("viewer").get(f"/api/v1/pis/{program.pi.pk}/indicators/").json()
    assert body["defect_escape"]["bugs"] == 2
    assert len(body["milestone_forecast"]["runs"]) == 2
    assert body["metric_convergence"]["spread_threshold"] == 0.005
    assert body["labeling_throughput"]["teams"][0]["team"] == "LAB"


@pytest.mark.parametrize(("user", "linked"), [("sm", True), ("po", False), ("viewer", False)])
def test_indicators_link_to_the_integrations_page_only_for_who_may_open_it(
    program, client, user, linked
):
    """With no metric yet the page says how to get one: the Scrum master is sent to the
    integrations page; anyone else is told who connects MLflow, not given a link to a 403."""
    client.force_login(program.users[user])
    html = client.get(f"/pi/{program.pi.pk}/indicators/").content.decode()
    main = html.split("<main")[1]
    assert ('href="/integrations/"' in main) is linked
    assert ("Once the Scrum master connects MLflow" in main) is not linked
    assert client.get("/integrations/").status_code == (200 if linked else 403)


def test_pages_offer_no_write_action(program, client):
    client.force_login(program.users["sm"])
    for path in PAGES:
        html = client.get(path.format(program.pi.pk)).content.decode()
        assert 'method="post"' not in html.split("<main")[1].lower().replace("logout", "")
    assert client.post(PAGES[0].format(program.pi.pk)).status_code == 405
