"""The first-day pages: setup checklist and landing, teams and people, new ticket with its
pickers, quick-add, comments and archive on the ticket page. Reads are a fixed number of
queries whatever the rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from dependencies.models import DependencyLink
from dependencies.services import link_create
from sprints.models import Sprint
from teams.models import Membership, Team
from tickets.models import Comment, Ticket
from tickets.services import comment_create

from ..factories import MembershipFactory, TicketFactory, UserFactory


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_an_empty_product_greets_the_scrum_master_with_the_checklist(db, client):
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(boss)
    html = client.get("/").content.decode()
    assert "Welcome to Sprintplan" in html and "Create your teams" in html
    assert html.count("· done") == 0


def test_a_member_lands_on_the_active_sprint_of_their_own_team(scenario, client):
    scenario.sprint.teams.set([scenario.lab])
    ml_sprint = Sprint.objects.create(
        name="ML 1",
        start_date=scenario.sprint.start_date,
        end_date=scenario.sprint.end_date,
        state="active",
    )
    ml_sprint.teams.set([scenario.ml])
    client.force_login(scenario.users["ml_member"])
    assert client.get("/").url == f"/sprints/{ml_sprint.pk}/"
    client.force_login(scenario.users["lab_member"])
    assert client.get("/").url == f"/sprints/{scenario.sprint.pk}/"


def test_teams_and_people_pages_read_a_fixed_number_of_queries(scenario, client):
    client.force_login(scenario.users["sm"])
    few = (queries(client, "/teams/"), queries(client, "/people/"), queries(client, "/teams/LAB/"))
    for n in range(6):
        person = UserFactory(username=f"new{n}")
        MembershipFactory(user=person, team=scenario.lab)
        MembershipFactory(user=person, team=scenario.qa)
    Team.objects.create(name="Ranking", key_prefix="RNK")
    many = (queries(client, "/teams/"), queries(client, "/people/"), queries(client, "/teams/LAB/"))
    assert few == many


def test_adding_a_person_on_the_page_shows_the_link_once_and_puts_them_in_the_team(
    scenario, client
):
    client.force_login(scenario.users["sm"])
    answer = client.post(
        "/people/",
        {
            "username": "ana",
            "first_name": "Ana",
            "product_role": "team",
            "team": scenario.lab.pk,
            "team_role": "lead",
        },
    )
    html = answer.content.decode()
    assert answer.status_code == 200 and "Set-password link for Ana" in html
    assert Membership.objects.get(user__username="ana").role == "lead"
    assert "Set-password link" not in client.get("/people/").content.decode()


@pytest.mark.parametrize("role", ["po", "lab_lead"])
def test_people_and_team_forms_refuse_others_and_change_nothing(scenario, client, role):
    client.force_login(scenario.users[role])
    added = client.post(
        "/people/", {"username": "ana", "product_role": "team", "team_role": "member"}
    )
    assert added.status_code == 403
    made = client.post(
        "/teams/",
        {"name": "X", "key_prefix": "X", "kind": "other", "unit": "points", "default_rate": "1"},
    )
    assert made.status_code == 403
    assert (
        not User.objects.filter(username="ana").exists()
        and not Team.objects.filter(key_prefix="X").exists()
    )


def test_a_lead_sets_a_members_part_time_on_the_team_page(scenario, client):
    client.force_login(scenario.users["lab_lead"])
    client.post("/teams/LAB/members/lab_member/", {"part_time_percent": "50"})
    assert Membership.objects.get(user__username="lab_member").part_time_percent == 50
    refused = client.post("/teams/LAB/members/lab_member/", {"role": "lead"})
    assert refused.status_code == 403
    assert Membership.objects.get(user__username="lab_member").role == "member"


def test_a_new_ticket_that_would_close_a_loop_is_refused_beside_the_field(scenario, client):
    lab = TicketFactory(team=scenario.lab)
    ml = TicketFactory(team=scenario.ml)
    link_create(actor=scenario.users["sm"], blocker=lab, blocked=ml)
    client.force_login(scenario.users["sm"])
    answer = client.post(
        "/tickets/new/",
        {
            "title": "Loop",
            "team": scenario.qa.pk,
            "type": "task",
            "status": "backlog",
            "blockers": [ml.key],
            "blocked": [lab.key],
        },
    )
    html = answer.content.decode()
    assert answer.status_code == 400
    assert 'id="results-blocked"' in html and "loop" in html.lower()
    assert not Ticket.objects.filter(title="Loop").exists()
    assert DependencyLink.objects.count() == 1


def test_a_member_cannot_create_tickets_and_quick_add_changes_nothing(scenario, client):
    client.force_login(scenario.users["lab_member"])
    assert "You cannot create tickets yet" in client.get("/tickets/new/").content.decode()
    client.post("/tickets/quick-add/", {"team": "LAB", "title": "Sneaky", "next": "/planning/"})
    assert not Ticket.objects.exists()


def test_quick_add_creates_in_the_column_it_was_typed_in(scenario, client):
    client.force_login(scenario.users["lab_lead"])
    answer = client.post(
        "/tickets/quick-add/",
        {
            "team": "LAB",
            "title": "Relabel blurry",
            "status": "in_progress",
            "sprint": scenario.sprint.pk,
            "next": "/teams/LAB/board/",
        },
    )
    assert answer.status_code == 302 and answer.url == "/teams/LAB/board/"
    made = Ticket.objects.get(title="Relabel blurry")
    assert (made.key, made.status, made.sprint_id) == ("LAB-1", "in_progress", scenario.sprint.pk)


def test_pickers_find_people_by_name_and_tickets_by_words(scenario, client):
    TicketFactory(team=scenario.lab, title="Label 1000 images")
    client.force_login(scenario.users["lab_lead"])
    people = client.get("/pick/people/", {"q": "lab_me", "field": "assignee"}).content.decode()
    assert 'data-value="lab_member"' in people and "lab_lead" not in people
    found = client.get("/pick/tickets/", {"q": "1000", "field": "blockers"}).content.decode()
    assert 'data-value="LAB-1"' in found


def test_ticket_page_shows_comments_in_the_activity_with_a_fixed_number_of_queries(
    scenario, client
):
    ticket = TicketFactory(team=scenario.lab)
    comment_create(actor=scenario.users["lab_member"], ticket=ticket, body="hi @lab_lead")
    client.force_login(scenario.users["lab_member"])
    few = queries(client, f"/tickets/{ticket.key}/")
    for n in range(5):
        comment_create(actor=scenario.users["sm"], ticket=ticket, body=f"**{n}** @lab_member")
    many = queries(client, f"/tickets/{ticket.key}/")
    assert few == many
    html = client.get(f"/tickets/{ticket.key}/").content.decode()
    assert '<span class="mention">@lab_lead</span>' in html and "<strong>4</strong>" in html


def test_an_empty_comment_is_refused_beside_the_field(scenario, client):
    ticket = TicketFactory(team=scenario.lab)
    client.force_login(scenario.users["lab_member"])
    answer = client.post(f"/tickets/{ticket.key}/comments/", {"body": "   "})
    assert answer.status_code == 400 and 'role="alert"' in answer.content.decode()
    assert not Comment.objects.exists()


def test_archive_on_the_page_refuses_a_member_and_a_stale_version(scenario, client):
    ticket = TicketFactory(team=scenario.lab)
    client.force_login(scenario.users["lab_member"])
    assert "Archive</button>" not in client.get(f"/tickets/{ticket.key}/").content.decode()
    refused = client.post(f"/tickets/{ticket.key}/archive/", {"version": ticket.version})
    assert refused.status_code == 403
    client.force_login(scenario.users["lab_lead"])
    stale = client.post(f"/tickets/{ticket.key}/archive/", {"version": ticket.version + 5})
    assert stale.status_code == 409
    assert Ticket.objects.get(pk=ticket.pk).archived_at is None
    done = client.post(f"/tickets/{ticket.key}/archive/", {"version": ticket.version})
    assert done.status_code == 302 and Ticket.objects.get(pk=ticket.pk).archived_at is not None


def test_the_ticket_page_edits_sprint_and_parent_and_shows_a_conflict_in_words(scenario, client):
    epic = TicketFactory(team=scenario.lab, title="Class X data")
    ticket = TicketFactory(team=scenario.lab)
    client.force_login(scenario.users["lab_lead"])
    saved = client.post(
        f"/tickets/{ticket.key}/edit/",
        {"version": ticket.version, "parent": epic.key.lower(), "sprint": ""},
    )
    assert saved.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.parent_id, ticket.sprint_id) == (epic.pk, None)
    stale = client.post(f"/tickets/{ticket.key}/edit/", {"version": 1, "status": "in_review"})
    html = stale.content.decode()
    assert stale.status_code == 409
    assert "Status: theirs <strong>To do</strong>, yours <strong>In review</strong>" in html
    unknown = client.post(
        f"/tickets/{ticket.key}/edit/", {"version": ticket.version, "parent": "NOPE-9"}
    )
    assert unknown.status_code == 400 and "There is no ticket NOPE-9" in unknown.content.decode()


def test_the_scrum_master_changes_a_planning_sprints_teams_in_the_start_dialog(scenario, client):
    sprint = Sprint.objects.create(
        name="Sprint 15", start_date=scenario.sprint.end_date, end_date=scenario.sprint.end_date
    )
    client.force_login(scenario.users["lab_lead"])
    assert (
        client.post(f"/sprints/{sprint.pk}/teams/", {"teams": [scenario.lab.pk]}).status_code == 403
    )
    client.force_login(scenario.users["sm"])
    none = client.post(f"/sprints/{sprint.pk}/teams/", {})
    assert none.status_code == 400 and "at least one team" in none.content.decode()
    client.post(f"/sprints/{sprint.pk}/teams/", {"teams": [scenario.lab.pk, scenario.qa.pk]})
    assert sorted(t.key_prefix for t in sprint.teams.all()) == ["LAB", "QA"]
    refused = client.post(f"/sprints/{scenario.sprint.pk}/teams/", {"teams": [scenario.lab.pk]})
    assert refused.status_code == 409  # an active sprint keeps the teams it started with


def test_a_fresh_install_says_on_the_login_page_how_to_make_the_first_scrum_master(db, client):
    html = client.get("/login/").content.decode()
    assert "python manage.py createsuperuser" in html
    User.objects.create_superuser("boss", "boss@example.com", "pw")
    assert "createsuperuser" not in client.get("/login/").content.decode()
