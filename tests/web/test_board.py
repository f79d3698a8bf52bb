"""The team board: columns by status, WIP limits marked in words (a warning, not a wall),
moves and edits through the ticket service (403 / 409 on the card), constant query count."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dependencies.models import TicketInsight
from dependencies.services import link_create
from sprints.models import Sprint
from teams.models import Team
from teams.services import team_set_wip_limits
from tickets.models import Ticket
from tickets.services import ticket_update

from ..factories import SprintFactory, TicketFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def derived(ticket, *, blockers=(), downstream=0):
    """The insight row the background recompute writes (it runs on commit, and these tests
    run inside one transaction)."""
    ids = [blocker.pk for blocker in blockers]
    TicketInsight.objects.update_or_create(
        ticket=ticket,
        defaults={
            "blocked": bool(ids),
            "direct_blocker_ids": ids,
            "root_blocker_ids": ids,
            "downstream_count": downstream,
            "computed_at": timezone.now(),
            "graph_version": 1,
        },
    )


@pytest.fixture
def board(scenario):
    """LAB: two to do, two in progress, one in review; one ML ticket; one LAB ticket in
    another sprint; LAB-1 blocks ML-1."""
    lab, ml, sprint = scenario.lab, scenario.ml, scenario.sprint
    t = {
        "label": TicketFactory(
            team=lab,
            sprint=sprint,
            status="in_progress",
            size=1000,
            progress=430,
            title="Label 1000 images",
            assignee=scenario.users["lab_member"],
        ),
        "review": TicketFactory(team=lab, sprint=sprint, status="in_progress", title="Review"),
        "guide": TicketFactory(team=lab, sprint=sprint, status="todo", title="Write guide"),
        "audit": TicketFactory(team=lab, sprint=sprint, status="todo", title="Audit batch"),
        "qa": TicketFactory(team=lab, sprint=sprint, status="in_review", title="Spot check"),
        "train": TicketFactory(team=ml, sprint=sprint, status="todo", title="Train v1.1"),
        "later": TicketFactory(
            team=lab,
            sprint=SprintFactory(name="Sprint 15", state=Sprint.State.PLANNING),
            title="Next sprint work",
        ),
    }
    link_create(actor=scenario.users["sm"], blocker=t["label"], blocked=t["train"])
    derived(t["label"], downstream=1)
    derived(t["train"], blockers=[t["label"]])
    return t


def get(client, user, url="/teams/LAB/board/", **extra):
    client.force_login(user)
    return client.get(url, **extra)


def column(html: str, status: str) -> str:
    """The cells of one status column (every lane)."""
    return "".join(re.findall(rf'data-status="{status}">(.*?)</ol>', html, re.S))


def test_login_required(client, scenario):
    response = client.get("/teams/LAB/board/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_columns_hold_the_teams_tickets_of_the_sprint(client, scenario, board):
    html = get(client, scenario.users["viewer"]).content.decode()
    assert "LAB-3" in column(html, "todo") and "LAB-4" in column(html, "todo")
    assert "LAB-1" in column(html, "in_progress") and "LAB-2" in column(html, "in_progress")
    assert "LAB-5" in column(html, "in_review")
    assert "No tickets done" in column(html, "done")
    assert 'data-status="backlog"' not in html  # no backlog tickets: no backlog column
    assert "ML-1" not in html.split('id="board-body"')[1]  # another team's
    assert "LAB-6" not in html  # another sprint's
    assert "430</strong> / 1000 images" in html
    assert "blocks 1" in html
    assert "Move LAB-1" not in html  # a viewer changes nothing


def test_other_sprint_and_swimlanes_by_assignee(client, scenario, board):
    later = board["later"].sprint
    html = get(client, scenario.users["lab_lead"], f"/teams/lab/board/?sprint={later.pk}")
    assert "LAB-6" in column(html.content.decode(), "todo")
    html = get(client, scenario.users["lab_lead"], "/teams/LAB/board/?lanes=assignee")
    html = html.content.decode()
    member = scenario.users["lab_member"].display_name
    lanes = re.findall(r'<h3 class="board-lane-head">(.*?) <span', html)
    assert lanes == [member, "Unassigned"]
    assert html.index("LAB-1") < html.index("Unassigned") < html.index("LAB-2")


def test_unknown_team_or_sprint_is_404(client, scenario):
    assert get(client, scenario.users["sm"], "/teams/NOPE/board/").status_code == 404
    assert get(client, scenario.users["sm"], "/teams/LAB/board/?sprint=x").status_code == 404


def test_empty_states_say_what_to_do(client, scenario):
    html = get(client, scenario.users["lab_lead"]).content.decode()
    assert "holds no Data Labeling tickets yet" in html and "sprint page" in html
    Sprint.objects.all().delete()
    html = get(client, scenario.users["lab_lead"]).content.decode()
    assert "There is no sprint yet" in html and "The Scrum master creates sprints" in html
    assert "/api/v1/" not in html.split("<main")[1]  # a page, not an API call, is the way
    html = get(client, scenario.users["sm"]).content.decode()
    assert 'href="/sprints/">Plan a new sprint</a>' in html


def test_a_column_over_its_wip_limit_is_marked_in_words(client, scenario, board):
    team_set_wip_limits(
        actor=scenario.users["lab_lead"], team=scenario.lab, limits={"in_progress": 1, "todo": 2}
    )
    html = get(client, scenario.users["lab_member"]).content.decode()
    assert "2 / 1 in the team — over WIP limit" in html
    # The limit is the team's: the to-do ticket planned in Sprint 15 counts too.
    assert "3 / 2 in the team — over WIP limit (2 here, 1 on other boards)" in html
    assert "⚠ In progress over the team's WIP limit (2 / 1 across all boards)" in html


def test_lead_sets_wip_limits(client, scenario, board):
    client.force_login(scenario.users["lab_lead"])
    response = client.post(
        "/teams/LAB/board/wip/",
        {"wip-in_progress": "3", "wip-in_review": "", "wip-todo": "0"},
        **HTMX,
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="board-body"')
    scenario.lab.refresh_from_db()
    assert scenario.lab.wip_limits == {"in_progress": 3, "todo": 0}


def test_scrum_master_sets_wip_limits_without_htmx_and_is_redirected(client, scenario):
    client.force_login(scenario.users["sm"])
    response = client.post("/teams/ML/board/wip/", {"wip-in_review": "2"})
    assert response.status_code == 302
    assert Team.objects.get(pk=scenario.ml.pk).wip_limits == {"in_review": 2}


@pytest.mark.parametrize("user", ["lab_member", "ml_lead", "viewer", "po"])
def test_others_may_not_set_wip_limits(client, scenario, user):
    client.force_login(scenario.users[user])
    response = client.post("/teams/LAB/board/wip/", {"wip-in_progress": "3"}, **HTMX)
    assert response.status_code == 403
    assert "only the Scrum master or the team&#x27;s lead may" in response.content.decode()
    assert Team.objects.get(pk=scenario.lab.pk).wip_limits == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"wip-in_progress": "-1"}, "The WIP limit of In progress must be a whole number"),
        ({"wip-in_progress": "2.5"}, "must be a whole number, 0 or more, got &#x27;2.5&#x27;"),
        ({"wip-in_progress": "two"}, "must be a whole number"),
        ({"wip-done": "3"}, "Unknown status &#x27;done&#x27; for a WIP limit"),
        ({"wip-in_progress": "3", "wip-bogus": "1"}, "Unknown status &#x27;bogus&#x27;"),
    ],
)
def test_bad_wip_limits_are_400_naming_the_problem_and_nothing_is_saved(
    client, scenario, data, message
):
    team_set_wip_limits(actor=scenario.users["sm"], team=scenario.lab, limits={"in_review": 1})
    client.force_login(scenario.users["lab_lead"])
    response = client.post("/teams/LAB/board/wip/", data, **HTMX)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Team.objects.get(pk=scenario.lab.pk).wip_limits == {"in_review": 1}


def test_member_moves_own_team_ticket_and_the_board_body_rerenders(client, scenario, board):
    team_set_wip_limits(actor=scenario.users["sm"], team=scenario.lab, limits={"in_review": 1})
    ticket = board["review"]
    client.force_login(scenario.users["lab_member"])
    response = client.post(
        "/teams/LAB/board/tickets/LAB-2/",
        {"version": ticket.version, "column": "in_progress", "status": "in_review"},
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#board-body"
    html = response.content.decode()
    assert "LAB-2" in column(html, "in_review")
    assert "2 / 1 in the team — over WIP limit" in html  # a warning, not a wall
    assert 'id="card-LAB-2" aria-labelledby="card-LAB-2-title" tabindex="-1" autofocus' in html
    assert Ticket.objects.get(pk=ticket.pk).status == "in_review"


def test_progress_edit_swaps_only_the_card(client, scenario, board):
    ticket = board["label"]
    client.force_login(scenario.users["lab_member"])
    response = client.post(
        "/teams/LAB/board/tickets/LAB-1/",
        {"version": ticket.version, "column": "in_progress", "progress": "500"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "HX-Retarget" not in response
    html = response.content.decode().strip()
    assert html.startswith('<article class="board-card" id="card-LAB-1"')
    assert "500</strong> / 1000 images" in html
    assert Ticket.objects.get(pk=ticket.pk).progress == 500


def test_member_may_not_change_size_and_sees_no_size_field(client, scenario, board):
    ticket = board["label"]
    html = get(client, scenario.users["lab_member"]).content.decode()
    assert 'aria-label="Progress of LAB-1"' in html and 'aria-label="Size of LAB-1"' not in html
    response = client.post(
        "/teams/LAB/board/tickets/LAB-1/", {"version": ticket.version, "size": "2000"}, **HTMX
    )
    assert response.status_code == 403
    assert "You may not change size of LAB-1" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).size == 1000


def test_member_cannot_move_another_teams_ticket(client, scenario, board):
    train = board["train"]
    html = get(client, scenario.users["lab_member"], "/teams/ML/board/").content.decode()
    assert "Move ML-1" not in html
    response = client.post(
        "/teams/ML/board/tickets/ML-1/", {"version": train.version, "status": "in_progress"}, **HTMX
    )
    assert response.status_code == 403
    assert "You may not change status of ML-1" in response.content.decode()
    assert Ticket.objects.get(pk=train.pk).status == "todo"
    # Nor through another team's board URL.
    response = client.post(
        "/teams/LAB/board/tickets/ML-1/", {"version": train.version, "status": "in_progress"}
    )
    assert response.status_code == 404
    assert Ticket.objects.get(pk=train.pk).version == train.version


def test_stale_version_is_409_with_both_versions_and_nothing_overwritten(client, scenario, board):
    ticket = board["label"]
    ticket_update(
        ticket=ticket,
        actor=scenario.users["lab_lead"],
        changes={"progress": 600, "status": "in_review"},
        expected_version=ticket.version,
    )
    client.force_login(scenario.users["lab_member"])
    response = client.post(
        "/teams/LAB/board/tickets/LAB-1/",
        {"version": ticket.version, "column": "in_progress", "progress": "450", "status": "done"},
        **HTMX,
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "LAB-1 was changed by someone else" in html
    assert "Progress: theirs <strong>600</strong>, yours <strong>450</strong>" in html
    assert "Status: theirs <strong>In review</strong>, yours <strong>Done</strong>" in html
    assert "Apply mine" in html and "Keep theirs" in html
    assert f'name="version" value="{ticket.version + 1}"' in html
    current = Ticket.objects.get(pk=ticket.pk)
    assert (current.progress, current.status) == (600, "in_review")


def test_gate_refusal_is_shown_on_the_card(client, scenario, board):
    train = board["train"]
    client.force_login(scenario.users["ml_lead"])
    response = client.post(
        "/teams/ML/board/tickets/ML-1/", {"version": train.version, "status": "done"}, **HTMX
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert 'class="board-notice card-error" role="alert"' in html
    assert "ML-1 cannot be done while it waits on unfinished work: LAB-1." in html


def test_live_is_204_until_something_changes(client, scenario, board):
    html = get(client, scenario.users["viewer"]).content.decode()
    live = re.search(r'hx-get="(/teams/LAB/board/live/[^"]+)"', html).group(1)
    live = live.replace("&amp;", "&")
    assert client.get(live).status_code == 204
    team_set_wip_limits(actor=scenario.users["sm"], team=scenario.lab, limits={"todo": 1})
    response = client.get(live)
    assert response.status_code == 200
    assert "3 / 1 in the team — over WIP limit" in response.content.decode()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("lanes", ["", "&lanes=assignee"])
def test_board_query_count_does_not_grow_with_tickets(client, scenario, lanes):
    sprint = scenario.sprint
    users = [scenario.users["lab_lead"], scenario.users["lab_member"], None]
    first = TicketFactory(team=scenario.lab, sprint=sprint, status="in_progress")
    second = TicketFactory(team=scenario.lab, sprint=sprint, status="todo", assignee=users[0])
    link_create(actor=scenario.users["sm"], blocker=first, blocked=second)
    derived(first, downstream=1)
    derived(second, blockers=[first])
    url = f"/teams/LAB/board/?sprint={sprint.pk}{lanes}"
    client.force_login(scenario.users["lab_lead"])
    client.get(url)  # warm caches (content types, sessions)
    small = _queries(client, url)
    statuses = ["todo", "in_progress", "in_review", "done", "backlog"]
    for n in range(15):
        ticket = TicketFactory(
            team=scenario.lab, sprint=sprint, status=statuses[n % 5], assignee=users[n % 3]
        )
        if n % 4 == 0:
            link_create(actor=scenario.users["sm"], blocker=first, blocked=ticket)
            derived(ticket, blockers=[first, second])
    assert _queries(client, url) == small


def test_bad_progress_is_400_beside_the_card_keeping_what_was_typed(client, scenario, board):
    ticket = board["label"]
    client.force_login(scenario.users["lab_member"])
    response = client.post(
        "/teams/LAB/board/tickets/LAB-1/",
        {"version": ticket.version, "column": "in_progress", "progress": "1200"},
        **HTMX,
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Progress 1200 exceeds the size 1000." in html
    assert '<details class="board-edit" open>' in html
    assert 'value="1200" aria-label="Progress of LAB-1"' in html
    assert Ticket.objects.get(pk=ticket.pk).progress == 430
