"""Server-rendered pages: login on every page, htmx partials, errors beside the field."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dependencies.models import DependencyLink
from dependencies.services import link_create
from tickets.models import Ticket

from ..factories import TicketFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sprint_chain(scenario, django_capture_on_commit_callbacks):
    lab = TicketFactory(
        team=scenario.lab,
        size=1000,
        progress=430,
        status="in_progress",
        sprint=scenario.sprint,
        title="Label 1000 images",
    )
    train = TicketFactory(team=scenario.ml, sprint=scenario.sprint, title="Train v1.1")
    with django_capture_on_commit_callbacks(execute=True):
        link_create(actor=scenario.users["sm"], blocker=lab, blocked=train)
    return lab, train


def logged_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/", "/sprints/", "/sprints/1/", "/tickets/ML-1/"])
def test_pages_require_login(db, client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_health_answers_without_login(db, client, settings):
    settings.HEALTH_REQUIRED_ROLES = []  # no worker in this test; tests/resilience covers them
    response = client.get("/health/")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


def test_login_with_wrong_password_says_so(scenario, client):
    response = client.post("/login/", {"username": "sm", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_post_without_csrf_token_is_refused(scenario, sprint_chain):
    client = Client(enforce_csrf_checks=True)
    client.force_login(scenario.users["sm"])
    response = client.post("/tickets/ML-1/inline/", {"status": "done", "version": 1})
    assert response.status_code == 403
    assert Ticket.objects.get(key="ML-1").status == "todo"


def test_home_goes_to_the_current_sprint(scenario, client):
    response = logged_in(client, scenario.users["viewer"]).get("/")
    assert response.url == f"/sprints/{scenario.sprint.pk}/"


@pytest.mark.parametrize(
    ("user", "said"),
    [
        ("sm", 'in the <a href="/planning/?sprint={}">planning room</a>'),
        ("lab_lead", "The Scrum master pulls tickets from the backlog into it"),
    ],
)
def test_an_empty_sprint_says_where_its_tickets_come_from(scenario, client, user, said):
    """In words and a link to the page that does it, not an API call to make."""
    sprint = scenario.sprint
    html = logged_in(client, scenario.users[user]).get(f"/sprints/{sprint.pk}/").content.decode()
    assert "This sprint has no tickets yet." in html
    assert said.format(sprint.pk) in html
    assert "/api/v1/" not in html.split("<main")[1]
    # Nothing to forecast: the card must not promise a forecast that no change will start.
    assert "No forecast yet: it is computed as soon as the sprint has tickets." in html
    assert "The first forecast is being computed" not in html


def test_the_sprint_summary_counts_in_words_that_agree_with_the_number(scenario, client):
    """Counts agree with their word: "1 ticket", "2 tickets", never "1 tickets"."""
    TicketFactory(team=scenario.lab, sprint=scenario.sprint)
    page = logged_in(client, scenario.users["po"])
    assert (
        "<strong>1</strong> ticket</span>"
        in page.get(f"/sprints/{scenario.sprint.pk}/").content.decode()
    )
    TicketFactory(team=scenario.lab, sprint=scenario.sprint)
    assert (
        "<strong>2</strong> tickets</span>"
        in page.get(f"/sprints/{scenario.sprint.pk}/").content.decode()
    )


def test_sprint_page_groups_by_team_and_shows_blocked_chain(scenario, client, sprint_chain):
    page = logged_in(client, scenario.users["sm"]).get(f"/sprints/{scenario.sprint.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    lanes = re.findall(r'<h2 id="lane-\d+">([^<]+?) <span', html)
    assert lanes == ["Data Labeling", "ML Engineering"]
    assert "✖ Blocked" in html
    assert "by LAB-1; root: LAB-1 (Data labeling, 430/1000 images)" in html
    assert "blocks 1" in html
    assert "430 / 1000 images done" in html


def _page_queries(client, sprint) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/sprints/{sprint.pk}/").status_code == 200
    return len(captured.captured_queries)


def test_sprint_page_query_count_does_not_grow_with_tickets(
    scenario, client, sprint_chain, django_capture_on_commit_callbacks
):
    logged_in(client, scenario.users["lab_lead"])
    few = _page_queries(client, scenario.sprint)
    with django_capture_on_commit_callbacks(execute=True):
        for team in (scenario.lab, scenario.ml, scenario.qa):
            for _ in range(10):
                blocked = TicketFactory(team=team, sprint=scenario.sprint)
                link_create(actor=scenario.users["sm"], blocker=sprint_chain[0], blocked=blocked)
    many = _page_queries(client, scenario.sprint)
    # a fixed set of reads: tickets, link health, change token, commitment, nav, forecast,
    # adjustments, recent changes, risks, decision records, capacity changes, the teams'
    # capacity calendar (7; the capacity bars are read from it), the decisions applied from
    # the options panel (in the change token), the sprint's participating teams; none grows.
    # The burn charts, the Definition of Done matrix and the what-if choices load apart.
    assert few == many == 29


def test_member_sees_controls_only_for_own_team(scenario, client, sprint_chain):
    html = (
        logged_in(client, scenario.users["lab_member"])
        .get(f"/sprints/{scenario.sprint.pk}/")
        .content.decode()
    )
    assert 'aria-label="Status of LAB-1"' in html
    assert 'aria-label="Status of ML-1"' not in html


def test_viewer_sees_no_controls(scenario, client, sprint_chain):
    html = (
        logged_in(client, scenario.users["viewer"])
        .get(f"/sprints/{scenario.sprint.pk}/")
        .content.decode()
    )
    # no ticket controls and no capacity form; the what-if preview (saves nothing) stays
    assert 'aria-label="Status of' not in html and 'aria-label="Progress of' not in html
    assert "Record a capacity change" not in html


class TestInlineEdit:
    def test_htmx_status_change_returns_the_updated_row_only(self, scenario, client, sprint_chain):
        lab, _ = sprint_chain
        response = logged_in(client, scenario.users["lab_member"]).post(
            f"/tickets/{lab.key}/inline/", {"status": "in_review", "version": lab.version}, **HTMX
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert html.strip().startswith('<tbody class="ticket" id="ticket-LAB-1">')
        assert "<html" not in html
        assert Ticket.objects.get(key="LAB-1").status == "in_review"

    def test_progress_above_size_is_shown_in_the_row_and_not_saved(
        self, scenario, client, sprint_chain
    ):
        lab, _ = sprint_chain
        response = logged_in(client, scenario.users["lab_member"]).post(
            f"/tickets/{lab.key}/inline/", {"progress": "1200", "version": lab.version}, **HTMX
        )
        assert response.status_code == 400
        assert "Progress 1200 exceeds the size 1000" in response.content.decode()
        assert Ticket.objects.get(key="LAB-1").progress == 430

    def test_concurrent_edit_shows_both_versions_and_saves_nothing(
        self, scenario, client, sprint_chain
    ):
        lab, _ = sprint_chain
        seen = lab.version
        other = Client()
        other.force_login(scenario.users["lab_lead"])
        other.post(f"/tickets/{lab.key}/inline/", {"progress": "500", "version": seen}, **HTMX)
        response = logged_in(client, scenario.users["lab_member"]).post(
            f"/tickets/{lab.key}/inline/", {"progress": "450", "version": seen}, **HTMX
        )
        html = response.content.decode()
        assert response.status_code == 409
        assert "changed by someone else" in html
        assert "theirs <strong>500</strong>, yours <strong>450</strong>" in html
        assert "Apply mine" in html and "Keep theirs" in html
        assert Ticket.objects.get(key="LAB-1").progress == 500

    def test_forged_edit_of_another_teams_ticket_is_403(self, scenario, client, sprint_chain):
        _, train = sprint_chain
        response = logged_in(client, scenario.users["lab_member"]).post(
            f"/tickets/{train.key}/inline/", {"status": "done", "version": train.version}, **HTMX
        )
        assert response.status_code == 403
        assert Ticket.objects.get(key=train.key).status == "todo"

    def test_without_htmx_the_edit_redirects_back_to_the_sprint(
        self, scenario, client, sprint_chain
    ):
        lab, _ = sprint_chain
        response = logged_in(client, scenario.users["lab_member"]).post(
            f"/tickets/{lab.key}/inline/", {"status": "in_review", "version": lab.version}
        )
        assert response.status_code == 302
        assert response.url == f"/sprints/{scenario.sprint.pk}/"


class TestTicketPage:
    def test_shows_fields_links_and_history(self, scenario, client, sprint_chain):
        html = logged_in(client, scenario.users["viewer"]).get("/tickets/ML-1/").content.decode()
        assert "Train v1.1" in html
        assert "✖ Blocked by LAB-1" in html
        assert "Blocked by: — → LAB-1" in html  # history in words
        assert "Add a blocker" not in html  # a viewer may not

    def test_ticket_page_query_count_is_constant(self, scenario, client, sprint_chain):
        logged_in(client, scenario.users["sm"])
        with CaptureQueriesContext(connection) as before:
            client.get("/tickets/ML-1/")
        for _ in range(10):
            link_create(
                actor=scenario.users["sm"],
                blocker=TicketFactory(team=scenario.qa),
                blocked=sprint_chain[1],
            )
        with CaptureQueriesContext(connection) as after:
            client.get("/tickets/ML-1/")
        assert len(before.captured_queries) == len(after.captured_queries)

    def test_adding_a_blocker_that_closes_a_cycle_shows_the_cycle_beside_the_field(
        self, scenario, client, sprint_chain
    ):
        response = logged_in(client, scenario.users["sm"]).post(
            "/tickets/LAB-1/blockers/", {"blocker": "ML-1"}, **HTMX
        )
        html = response.content.decode()
        assert response.status_code == 400
        assert 'id="blocker-error"' in html
        assert "ML-1 cannot block LAB-1: that would close the cycle ML-1 → LAB-1 → ML-1" in html
        assert DependencyLink.objects.count() == 1

    def test_adding_an_unknown_blocker_names_it(self, scenario, client, sprint_chain):
        response = logged_in(client, scenario.users["sm"]).post(
            "/tickets/LAB-1/blockers/", {"blocker": "qa-42"}, **HTMX
        )
        assert response.status_code == 400
        assert "There is no ticket QA-42." in response.content.decode()

    def test_adding_and_removing_a_blocker(self, scenario, client, sprint_chain):
        qa = TicketFactory(team=scenario.qa)
        client = logged_in(client, scenario.users["sm"])
        added = client.post(f"/tickets/{qa.key}/blockers/", {"blocker": "ml-1"}, **HTMX)
        assert added.status_code == 200
        html = added.content.decode()
        assert html.strip().startswith('<section class="card" id="ticket-links">')
        # the history column is refreshed out of band with the new event
        assert 'id="ticket-history" hx-swap-oob="true"' in html
        assert "Blocked by: — → ML-1" in html
        link = DependencyLink.objects.get(blocked=qa)
        removed = client.post(f"/tickets/{qa.key}/blockers/{link.pk}/delete/", **HTMX)
        assert removed.status_code == 200
        assert not DependencyLink.objects.filter(blocked=qa).exists()

    def test_edit_form_conflict_shows_theirs_and_yours(self, scenario, client, sprint_chain):
        lab, _ = sprint_chain
        other = Client()
        other.force_login(scenario.users["sm"])
        other.post(
            f"/tickets/{lab.key}/edit/", {"title": "Label 1200 images", "version": 1}, **HTMX
        )
        response = logged_in(client, scenario.users["lab_lead"]).post(
            f"/tickets/{lab.key}/edit/", {"title": "Label 900 images", "version": 1}, **HTMX
        )
        html = response.content.decode()
        assert response.status_code == 409
        assert (
            "theirs <strong>Label 1200 images</strong>, yours <strong>Label 900 images</strong>"
            in html
        )
        assert Ticket.objects.get(key=lab.key).title == "Label 1200 images"

    def test_edit_form_shows_errors_beside_the_field(self, scenario, client, sprint_chain):
        lab, _ = sprint_chain
        response = logged_in(client, scenario.users["lab_lead"]).post(
            f"/tickets/{lab.key}/edit/", {"size": "-5", "version": 1}, **HTMX
        )
        assert response.status_code == 400
        assert "greater than or equal to 0" in response.content.decode()
        assert Ticket.objects.get(key=lab.key).size == 1000


class TestLiveRefresh:
    """Open sprint pages poll a change token; nothing changed costs no rendering."""

    def _token(self, client, sprint) -> str:
        """The version the page shows, as its live element sends it (`since` and `crit`)."""
        html = client.get(f"/sprints/{sprint.pk}/").content.decode()
        return html.split("/live/?since=", 1)[1].split('"', 1)[0].replace("&amp;", "&")

    def test_unchanged_answers_204_without_a_body(self, scenario, client, sprint_chain):
        client = logged_in(client, scenario.users["viewer"])
        token = self._token(client, scenario.sprint)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/sprints/{scenario.sprint.pk}/live/?since={token}", **HTMX)
        assert response.status_code == 204
        assert response.content == b""
        assert len(captured.captured_queries) == 4  # session, user, sprint, its version

    def test_a_change_by_someone_else_returns_the_fresh_body(self, scenario, client, sprint_chain):
        lab, _ = sprint_chain
        client = logged_in(client, scenario.users["viewer"])
        token = self._token(client, scenario.sprint)
        other = Client()
        other.force_login(scenario.users["lab_lead"])
        other.post(f"/tickets/{lab.key}/inline/", {"status": "in_review", "version": 1}, **HTMX)
        response = client.get(f"/sprints/{scenario.sprint.pk}/live/?since={token}", **HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert "In review" in html
        assert f"since={token}" not in html  # the next poll asks about the new state

    def test_a_row_edit_answers_only_that_row_and_the_figures_summing_it(
        self, scenario, client, sprint_chain
    ):
        """A status or progress change moves one row, its lane's total and the summary: the
        answer carries those, each marked to swap into its own place, and not the page."""
        lab, _train = sprint_chain
        others = [TicketFactory(team=scenario.qa, sprint=scenario.sprint) for _ in range(5)]
        # written before the page was drawn, outside the margin that re-sends recent rows
        Ticket.objects.filter(pk__in=[t.pk for t in others]).update(
            updated_at=timezone.now() - timedelta(hours=1)
        )
        client = logged_in(client, scenario.users["viewer"])
        token = self._token(client, scenario.sprint)
        other = Client()
        other.force_login(scenario.users["lab_lead"])
        other.post(f"/tickets/{lab.key}/inline/", {"progress": "600", "version": 1}, **HTMX)
        response = client.get(f"/sprints/{scenario.sprint.pk}/live/?since={token}", **HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert response["HX-Reswap"] == "none"  # nothing replaces the body
        assert 'id="sprint-body"' not in html
        assert f'id="ticket-{lab.key}" hx-swap-oob="true"' in html
        row = html.split(f'id="ticket-{lab.key}"', 1)[1].split("</tbody>", 1)[0]
        assert "600" in row and "430" not in row  # the row shows the new progress
        for untouched in others:
            assert f"ticket-{untouched.key}" not in html
        assert f'id="lane-done-{scenario.lab.pk}" hx-swap-oob="true">· 600 / 1000' in html
        assert 'id="sprint-summary" hx-swap-oob="true"' in html
        assert 'id="recent-changes" hx-swap-oob="true"' in html
        new_since = html.split("/live/?since=", 1)[1].split('"', 1)[0].replace("&amp;", "&")
        again = client.get(f"/sprints/{scenario.sprint.pk}/live/?since={new_since}")
        assert new_since != token and again.status_code == 204  # the page is current again

    def test_the_rows_answer_reads_the_same_number_of_queries_for_one_row_or_many(
        self, scenario, client, sprint_chain
    ):
        _lab, _train = sprint_chain
        extra = [TicketFactory(team=scenario.qa, sprint=scenario.sprint) for _ in range(6)]
        Ticket.objects.filter(sprint=scenario.sprint).update(
            updated_at=timezone.now() - timedelta(hours=1)
        )
        client = logged_in(client, scenario.users["viewer"])

        def queries_after_touching(tickets) -> int:
            token = self._token(client, scenario.sprint)
            Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
                title="touched", updated_at=timezone.now()
            )
            url = f"/sprints/{scenario.sprint.pk}/live/?since={token}"
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url, **HTMX)
            assert response["HX-Reswap"] == "none"
            Ticket.objects.filter(sprint=scenario.sprint).update(
                updated_at=timezone.now() - timedelta(hours=1)
            )
            return len(captured.captured_queries)

        assert queries_after_touching(extra[:1]) == queries_after_touching(extra) == 17

    def test_the_rows_answer_is_drawn_once_for_people_with_the_same_rights(
        self, scenario, sprint_chain
    ):
        """Fifty open pages ask at once after a change: people who may edit the same fields
        share one drawing; someone who may edit the row gets their own, with its editors."""
        lab, _train = sprint_chain
        viewer, lead = Client(), Client()
        viewer.force_login(scenario.users["viewer"])
        lead.force_login(scenario.users["lab_lead"])
        token = self._token(viewer, scenario.sprint)
        Ticket.objects.filter(pk=lab.pk).update(title="Relabel", updated_at=timezone.now())
        url = f"/sprints/{scenario.sprint.pk}/live/?since={token}"
        first = viewer.get(url, **HTMX)
        with CaptureQueriesContext(connection) as shared:
            again = viewer.get(url, **HTMX)
        assert again.content == first.content and "Relabel" in first.content.decode()
        # session, user, sprint, its version, the moved rows: nothing drawn again
        assert len(shared.captured_queries) == 5
        led = lead.get(url, **HTMX).content.decode()
        assert f'id="progress-{lab.key}"' in led  # the lead's own: with the progress editor
        assert f'id="progress-{lab.key}"' not in first.content.decode()

    def test_a_row_edit_also_redraws_the_rows_its_ticket_blocks(
        self, scenario, client, sprint_chain
    ):
        """The blocked row names the link's health, which the blocker's dates and status set:
        it is redrawn with the blocker even though it did not change itself."""
        lab, train = sprint_chain
        client = logged_in(client, scenario.users["viewer"])
        token = self._token(client, scenario.sprint)
        other = Client()
        other.force_login(scenario.users["lab_lead"])
        other.post(f"/tickets/{lab.key}/inline/", {"progress": "600", "version": 1}, **HTMX)
        html = client.get(f"/sprints/{scenario.sprint.pk}/live/?since={token}").content.decode()
        assert f'id="ticket-{train.key}" hx-swap-oob="true"' in html

    def test_a_change_of_scope_redraws_the_whole_body(self, scenario, client, sprint_chain):
        """A ticket joining the sprint changes its rows' set and order: the body is sent."""
        client = logged_in(client, scenario.users["viewer"])
        token = self._token(client, scenario.sprint)
        TicketFactory(team=scenario.qa, sprint=scenario.sprint, title="Joins late")
        html = client.get(f"/sprints/{scenario.sprint.pk}/live/?since={token}").content.decode()
        assert html.strip().startswith('<div id="sprint-body">')
        assert "Joins late" in html

    def test_a_page_that_sends_no_version_or_a_broken_one_gets_the_body(
        self, scenario, client, sprint_chain
    ):
        client = logged_in(client, scenario.users["viewer"])
        for since in ("", "since=garbage", "since=1_2_3&crit=x"):
            html = client.get(f"/sprints/{scenario.sprint.pk}/live/?{since}").content.decode()
            assert html.strip().startswith('<div id="sprint-body">'), since


def test_in_debug_mode_htmx_error_answers_still_land_beside_the_field(
    scenario, client, settings, sprint_chain
):
    """django-htmx's debug helper would replace the page with any 400/403 answer; the
    embedded default runs with DEBUG on, so pages must not load it."""
    settings.DEBUG = True
    html = logged_in(client, scenario.users["sm"]).get(f"/sprints/{scenario.sprint.pk}/")
    html = html.content.decode()
    assert "django_htmx/htmx-2.min.js" in html
    assert "django-htmx.js" not in html


def test_po_sees_what_changed_since_yesterday_and_not_older(scenario, client, sprint_chain):
    from datetime import timedelta

    from django.utils import timezone

    from tickets.models import TicketEvent

    lab, _ = sprint_chain
    TicketEvent.objects.create(
        ticket=lab,
        field="progress",
        old_value="100",
        new_value="200",
        at=timezone.now() - timedelta(days=3),
    )
    TicketEvent.objects.create(
        ticket=lab,
        field="progress",
        old_value="200",
        new_value="430",
        at=timezone.now() - timedelta(hours=2),
    )
    html = logged_in(client, scenario.users["po"]).get(f"/sprints/{scenario.sprint.pk}/")
    section = (
        html.content.decode().split("What changed since yesterday", 1)[1].split("</section>")[0]
    )
    assert "<strong>progress</strong>: 200 → 430" in section
    assert "100 → 200" not in section


def test_sprint_page_lists_the_sprints_risks_with_their_roam_state(scenario, client, sprint_chain):
    from planning.services import risk_raise

    risk_raise(
        actor=scenario.users["sm"],
        sprint=scenario.sprint,
        title="New labels are noisy",
        likelihood=2,
        impact=3,
    )
    html = logged_in(client, scenario.users["viewer"]).get(f"/sprints/{scenario.sprint.pk}/")
    html = html.content.decode()
    assert "New labels are noisy" in html and "Not ROAMed yet" in html


def test_top_bar_names_the_users_role_shortly(scenario, client):
    client.force_login(scenario.users["lab_lead"])
    assert "· Lead of LAB</span>" in client.get("/sprints/").content.decode()
    client.force_login(scenario.users["po"])
    assert "· Product Owner</span>" in client.get("/sprints/").content.decode()
