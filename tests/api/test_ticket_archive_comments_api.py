"""Archive/restore, comments with mentions, history in words, and references by key and
username on the ticket endpoint."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies.models import TicketInsight
from dependencies.services import link_create
from sprintplan import events
from tickets.models import Comment, Ticket

from ..factories import TicketFactory


def test_tickets_are_created_with_the_team_by_key_and_the_assignee_by_username(scenario, api):
    made = api("lab_lead").post(
        "/api/v1/tickets/",
        {"team": "LAB", "title": "Label batch", "assignee": "lab_member"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["team_prefix"], made.json()["assignee_username"]) == ("LAB", "lab_member")
    unknown = api("lab_lead").post(
        "/api/v1/tickets/", {"team": "NOPE", "title": "x"}, format="json"
    )
    assert unknown.status_code == 400 and unknown.json()["detail"].startswith("team:")


@pytest.fixture
def chain(scenario):
    lab = TicketFactory(team=scenario.lab, sprint=scenario.sprint, size=10)
    ml = TicketFactory(team=scenario.ml, sprint=scenario.sprint, size=3)
    link_create(actor=scenario.users["sm"], blocker=lab, blocked=ml)
    return lab, ml


def test_archiving_a_blocker_unblocks_what_it_blocked_and_restoring_blocks_again(
    scenario, api, chain, django_capture_on_commit_callbacks
):
    lab, ml = chain
    with django_capture_on_commit_callbacks(execute=True):
        answer = api("lab_lead").post(
            f"/api/v1/tickets/{lab.key}/archive/", {"version": lab.version}, format="json"
        )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["archived_at"] and answer.json()["sprint"] is None
    assert not TicketInsight.objects.get(ticket=ml).blocked
    listed = [t["key"] for t in api("viewer").get("/api/v1/tickets/").json()["results"]]
    assert lab.key not in listed
    archived = api("viewer").get("/api/v1/tickets/?archived=true").json()["results"]
    assert [t["key"] for t in archived] == [lab.key]
    with django_capture_on_commit_callbacks(execute=True):
        back = api("lab_lead").post(
            f"/api/v1/tickets/{lab.key}/restore/",
            {"version": answer.json()["version"]},
            format="json",
        )
    assert back.status_code == 200 and back.json()["archived_at"] is None
    assert back.json()["sprint"] == scenario.sprint.pk  # back into the sprint it left
    assert TicketInsight.objects.get(ticket=ml).blocked


@pytest.mark.parametrize("role", ["lab_member", "ml_lead", "viewer"])
def test_only_sm_po_and_the_teams_lead_archive(scenario, api, chain, role):
    lab, _ = chain
    answer = api(role).post(
        f"/api/v1/tickets/{lab.key}/archive/", {"version": lab.version}, format="json"
    )
    assert answer.status_code == 403
    assert Ticket.objects.get(pk=lab.pk).archived_at is None


def test_archiving_a_stale_version_is_a_conflict_and_changes_nothing(scenario, api, chain):
    lab, _ = chain
    answer = api("po").post(f"/api/v1/tickets/{lab.key}/archive/", {"version": 99}, format="json")
    assert answer.status_code == 409
    assert answer.json()["current"]["version"] == lab.version
    missing = api("po").post(f"/api/v1/tickets/{lab.key}/archive/", {}, format="json")
    assert missing.status_code == 400 and missing.json()["field"] == "version"
    assert Ticket.objects.get(pk=lab.pk).archived_at is None


def test_history_reads_in_words_oldest_first(scenario, api, chain):
    lab, _ = chain
    moved = api("lab_lead").patch(
        f"/api/v1/tickets/{lab.key}/", {"status": "in_progress", "version": 1}, format="json"
    )
    assert moved.status_code == 200
    rows = api("viewer").get(f"/api/v1/tickets/{lab.key}/history/").json()
    texts = [row["text"] for row in rows]
    assert texts == ["Blocks: — → ML-1", "Status: To do → In progress"]


def test_comment_with_a_mention_is_stored_and_announced(
    scenario, api, chain, django_capture_on_commit_callbacks
):
    lab, _ = chain
    heard = []
    events.subscribe("ticket.mentioned", lambda **payload: heard.append(payload))
    with django_capture_on_commit_callbacks(execute=True):
        made = api("lab_member").post(
            f"/api/v1/tickets/{lab.key}/comments/",
            {"body": "Ready for **review**, @lab_lead and @nobody? <script>x</script>"},
            format="json",
        )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["mentions"] == ["lab_lead"]
    assert "<strong>review</strong>" in body["html"] and "<script>" not in body["html"]
    assert heard == [
        {
            "ticket_id": lab.pk,
            "comment_id": body["id"],
            "actor_id": scenario.users["lab_member"].pk,
            "user_ids": [scenario.users["lab_lead"].pk],
        }
    ]


def test_comments_refuse_viewers_and_empty_bodies(scenario, api, chain):
    lab, _ = chain
    viewer = api("viewer").post(f"/api/v1/tickets/{lab.key}/comments/", {"body": "hi"})
    assert viewer.status_code == 403
    empty = api("lab_member").post(f"/api/v1/tickets/{lab.key}/comments/", {"body": "  "})
    assert empty.status_code == 400 and "body" in (
        empty.json().get("field") or empty.json()["detail"]
    )
    assert not Comment.objects.exists()


def test_only_the_author_edits_or_deletes_a_comment(scenario, api, chain):
    lab, _ = chain
    made = api("lab_member").post(f"/api/v1/tickets/{lab.key}/comments/", {"body": "first"})
    url = f"/api/v1/tickets/{lab.key}/comments/{made.json()['id']}/"
    assert api("sm").patch(url, {"body": "hijacked"}).status_code == 403
    assert api("lab_lead").delete(url).status_code == 403
    edited = api("lab_member").patch(url, {"body": "second"})
    assert edited.status_code == 200 and edited.json()["edited_at"]
    assert Comment.objects.get().body == "second"
    assert api("lab_member").delete(url).status_code == 204
    assert not Comment.objects.exists()


def test_comment_list_reads_a_fixed_number_of_queries(scenario, api, chain):
    lab, _ = chain

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert api("viewer").get(f"/api/v1/tickets/{lab.key}/comments/").status_code == 200
        return len(queries)

    api("lab_member").post(f"/api/v1/tickets/{lab.key}/comments/", {"body": "one @lab_lead"})
    few = count()
    for n in range(6):
        api("lab_member").post(f"/api/v1/tickets/{lab.key}/comments/", {"body": f"@sm {n}"})
    assert count() == few


def test_deleting_a_ticket_recomputes_its_neighbours_and_the_admin_cannot(
    scenario, chain, rf, django_capture_on_commit_callbacks
):
    """The admin is read-only (archive is the product's way out); the one delete path, the
    service, recomputes what the ticket blocked at once."""
    from django.contrib.admin.sites import site

    from accounts.models import User
    from sprintplan import derived
    from tickets import services as ticket_services

    lab, ml = chain
    with django_capture_on_commit_callbacks(execute=True):
        derived.request("insights")
    assert TicketInsight.objects.get(ticket=ml).blocked
    request = rf.post("/admin/")
    request.user = User.objects.create_superuser("root", "root@example.com", "pw")
    assert not site._registry[Ticket].has_delete_permission(request, lab)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_services.ticket_delete(actor=request.user, ticket=lab)
    assert not Ticket.objects.filter(pk=lab.pk).exists()
    assert not TicketInsight.objects.get(ticket=ml).blocked
