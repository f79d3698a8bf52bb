"""People and memberships through the API: Scrum master writes, everyone reads; users by
username, teams by key prefix (or id)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from teams.models import Membership

from ..factories import MembershipFactory, UserFactory


def test_the_first_superuser_is_a_scrum_master(db):
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")
    assert boss.is_scrum_master


def test_scrum_master_adds_a_person_and_gets_a_one_time_set_password_link(scenario, api, client):
    answer = api("sm").post(
        "/api/v1/users/",
        {"username": "ana", "first_name": "Ana", "last_name": "Lopez", "product_role": "team"},
        format="json",
    )
    assert answer.status_code == 201
    link = answer.json()["set_password_url"]
    ana = User.objects.get(username="ana")
    assert not ana.has_usable_password()
    page = client.get(link, follow=True)
    assert b"Choose the password" in page.content
    form_url = page.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": "x9!long-pass", "new_password2": "x9!long-pass"})
    assert done.status_code == 302
    ana.refresh_from_db()
    assert ana.check_password("x9!long-pass")
    # once used, the link is dead
    again = client.get(link, follow=True)
    assert b"This link has been used" in again.content


@pytest.mark.parametrize("role", ["po", "lab_lead", "viewer"])
def test_only_the_scrum_master_adds_people(scenario, api, role):
    answer = api(role).post("/api/v1/users/", {"username": "ana"}, format="json")
    assert answer.status_code == 403
    assert not User.objects.filter(username="ana").exists()


def test_a_bad_username_or_role_is_refused_naming_the_field(scenario, api):
    bad_name = api("sm").post("/api/v1/users/", {"username": "ana lopez"}, format="json")
    assert bad_name.status_code == 400 and bad_name.json()["field"] == "username"
    bad_role = api("sm").post(
        "/api/v1/users/", {"username": "ana", "product_role": "boss"}, format="json"
    )
    assert bad_role.status_code == 400 and bad_role.json()["field"] == "product_role"
    taken = api("sm").post("/api/v1/users/", {"username": "LAB_LEAD"}, format="json")
    assert taken.status_code == 409 and taken.json()["field"] == "username"
    assert not User.objects.filter(username="ana").exists()


def test_users_are_found_by_username_and_searched_by_name(scenario, api):
    UserFactory(username="ana", first_name="Ana", last_name="Qxzlopez")
    one = api("viewer").get("/api/v1/users/ana/")
    assert one.status_code == 200 and one.json()["display_name"] == "Ana Qxzlopez"
    found = api("viewer").get("/api/v1/users/?search=qxzlop").json()["results"]
    assert [u["username"] for u in found] == ["ana"]


def test_user_list_reads_a_fixed_number_of_queries(scenario, api):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert api("viewer").get("/api/v1/users/").status_code == 200
        return len(queries)

    few = count()
    for n in range(8):
        MembershipFactory(user=UserFactory(username=f"extra{n}"), team=scenario.lab)
    assert count() == few


def test_deactivating_keeps_the_name_in_history_and_hides_from_the_list(scenario, api):
    from tickets.models import TicketEvent

    from ..factories import TicketFactory

    ticket = TicketFactory(team=scenario.lab)
    TicketEvent.objects.create(ticket=ticket, actor=scenario.users["lab_member"], field="created")
    answer = api("sm").patch("/api/v1/users/lab_member/", {"is_active": False}, format="json")
    assert answer.status_code == 200 and answer.json()["is_active"] is False
    listed = [u["username"] for u in api("sm").get("/api/v1/users/").json()["results"]]
    assert "lab_member" not in listed
    history = api("sm").get(f"/api/v1/tickets/{ticket.key}/history/").json()
    assert history[0]["actor"] == "lab_member"


def test_the_last_scrum_master_cannot_be_demoted(scenario, api):
    answer = api("sm").patch("/api/v1/users/sm/", {"product_role": "viewer"}, format="json")
    assert answer.status_code == 403
    assert User.objects.get(username="sm").is_scrum_master


def test_team_is_read_by_key_prefix_or_id(scenario, api):
    by_key = api("viewer").get("/api/v1/teams/lab/")
    by_id = api("viewer").get(f"/api/v1/teams/{scenario.lab.pk}/")
    assert by_key.status_code == by_id.status_code == 200
    assert by_key.json()["key_prefix"] == by_id.json()["key_prefix"] == "LAB"


def test_members_are_added_by_username_by_the_scrum_master_only(scenario, api):
    UserFactory(username="ana")
    refused = api("lab_lead").post(
        "/api/v1/teams/LAB/members/", {"user": "ana", "role": "member"}, format="json"
    )
    assert refused.status_code == 403
    assert not Membership.objects.filter(user__username="ana").exists()
    added = api("sm").post(
        "/api/v1/teams/LAB/members/",
        {"user": "ana", "role": "member", "part_time_percent": 50},
        format="json",
    )
    assert added.status_code == 201
    row = next(m for m in added.json() if m["user"] == "ana")
    assert (row["role"], row["part_time_percent"]) == ("member", 50)


def test_unknown_member_or_bad_share_is_refused_naming_the_field(scenario, api):
    unknown = api("sm").post("/api/v1/teams/LAB/members/", {"user": "nobody"}, format="json")
    assert unknown.status_code == 400 and "user" in unknown.json()["detail"]
    share = api("sm").patch(
        "/api/v1/teams/LAB/members/lab_member/", {"part_time_percent": 150}, format="json"
    )
    assert share.status_code == 400 and "part_time_percent" in share.json()["detail"]


def test_a_lead_sets_own_members_part_time_but_not_their_role(scenario, api):
    ok = api("lab_lead").patch(
        "/api/v1/teams/LAB/members/lab_member/", {"part_time_percent": 60}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["part_time_percent"] == 60
    role = api("lab_lead").patch(
        "/api/v1/teams/LAB/members/lab_member/", {"role": "lead"}, format="json"
    )
    assert role.status_code == 403
    other = api("ml_lead").patch(
        "/api/v1/teams/LAB/members/lab_member/", {"part_time_percent": 10}, format="json"
    )
    assert other.status_code == 403
    membership = Membership.objects.get(user__username="lab_member")
    assert (membership.role, membership.part_time_percent) == ("member", 60)


def test_scrum_master_removes_a_member(scenario, api):
    assert api("lab_lead").delete("/api/v1/teams/LAB/members/lab_member/").status_code == 403
    assert api("sm").delete("/api/v1/teams/LAB/members/lab_member/").status_code == 204
    assert not Membership.objects.filter(user__username="lab_member").exists()


def test_team_create_with_wip_limits_and_bad_prefix(scenario, api):
    made = api("sm").post(
        "/api/v1/teams/",
        {"name": "Ranking", "key_prefix": "RNK", "wip_limits": {"in_progress": 3}},
        format="json",
    )
    assert made.status_code == 201 and made.json()["wip_limits"] == {"in_progress": 3}
    bad = api("sm").post("/api/v1/teams/", {"name": "X", "key_prefix": "x y"}, format="json")
    assert bad.status_code == 400 and bad.json()["detail"].startswith("key_prefix:")
