"""The planning room: a ranked, filterable backlog; pulling tickets into the sprint being
planned and taking them out, with capacity and ordering warnings following; ranking by
keyboard buttons (and drag, which posts the same); closing a sprint carries work over."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dependencies.services import link_create
from planning.services import sprint_close
from sprintplan.errors import Conflict, PermissionDenied
from sprints.models import Sprint
from tickets.models import Ticket, TicketEvent

from ..factories import SprintFactory, TicketFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def room(scenario):
    planned = SprintFactory(name="Sprint 15", state=Sprint.State.PLANNING)
    later = SprintFactory(
        name="Sprint 16",
        state=Sprint.State.PLANNING,
        start_date=planned.start_date.replace(year=planned.start_date.year + 1),
    )
    label = TicketFactory(
        team=scenario.lab,
        sprint=None,
        status="backlog",
        size=1000,
        title="Label edge cases",
        type="labeling_batch",
    )
    train = TicketFactory(
        team=scenario.ml,
        sprint=None,
        status="backlog",
        size=5,
        title="Train v1.2",
        type="training_run",
    )
    spike = TicketFactory(
        team=scenario.ml,
        sprint=None,
        status="backlog",
        size=3,
        title="Active-learning spike",
        type="spike",
    )
    link_create(actor=scenario.users["sm"], blocker=label, blocked=train)
    return type(
        "Room",
        (),
        {"planned": planned, "later": later, "label": label, "train": train, "spike": spike},
    )


def open_room(client, user, room, query: str = "") -> str:
    client.force_login(user)
    response = client.get(f"/planning/?sprint={room.planned.pk}{query}")
    assert response.status_code == 200
    return response.content.decode()


def keys_in_backlog(html: str) -> list[str]:
    part = html.split('class="backlog-list"', 1)[1].split("</ol>", 1)[0]
    return [chunk.split('"', 1)[0] for chunk in part.split('data-key="')[1:]]


def test_backlog_is_ranked_and_filterable(scenario, room, client):
    html = open_room(client, scenario.users["po"], room)
    assert keys_in_backlog(html) == ["LAB-1", "ML-1", "ML-2"]
    assert keys_in_backlog(
        open_room(client, scenario.users["po"], room, f"&team={scenario.ml.pk}")
    ) == ["ML-1", "ML-2"]
    assert keys_in_backlog(open_room(client, scenario.users["po"], room, "&q=spike")) == ["ML-2"]
    assert keys_in_backlog(
        open_room(client, scenario.users["po"], room, "&type=labeling_batch")
    ) == ["LAB-1"]


def test_pulling_a_ticket_whose_blocker_is_unplanned_warns_before_and_after(scenario, room, client):
    html = open_room(client, scenario.users["sm"], room)
    assert "⚠ needs LAB-1 first, which is not planned" in html
    response = client.post(
        "/planning/pull/",
        {"ticket": "ML-1", "version": room.train.version, "sprint": room.planned.pk},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="planning-room"' not in html  # the changed parts only, not the whole room
    assert Ticket.objects.get(key="ML-1").sprint_id == room.planned.pk
    scope = html.split('class="card scope"', 1)[1]
    assert "ML-1" in scope and "⚠ LAB-1 is not planned in any sprint" in scope
    assert 'ML Engineering</strong> <span class="muted">5 / ' in scope  # capacity follows


def test_taking_a_ticket_out_returns_it_to_the_backlog(scenario, room, client):
    client.force_login(scenario.users["sm"])
    client.post(
        "/planning/pull/", {"ticket": "ML-2", "version": 1, "sprint": room.planned.pk}, **HTMX
    )
    response = client.post(
        "/planning/remove/", {"ticket": "ML-2", "version": 2, "sprint": room.planned.pk}, **HTMX
    )
    assert response.status_code == 200
    assert Ticket.objects.get(key="ML-2").sprint_id is None
    fields = list(
        TicketEvent.objects.filter(ticket__key="ML-2", field="sprint")
        .order_by("id")
        .values_list("old_value", "new_value")
    )
    assert fields == [("", "Sprint 15"), ("Sprint 15", "")]


def test_a_member_cannot_pull_and_is_told_why(scenario, room, client):
    html = open_room(client, scenario.users["lab_member"], room)
    assert "Pull LAB-1 into" not in html
    response = client.post(
        "/planning/pull/", {"ticket": "LAB-1", "version": 1, "sprint": room.planned.pk}, **HTMX
    )
    assert response.status_code == 403
    assert "You may not change sprint of LAB-1" in response.content.decode()
    assert Ticket.objects.get(key="LAB-1").sprint_id is None


def test_a_stale_pull_is_a_conflict_shown_in_the_room(scenario, room, client):
    client.force_login(scenario.users["sm"])
    response = client.post(
        "/planning/pull/", {"ticket": "LAB-1", "version": 99, "sprint": room.planned.pk}, **HTMX
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    assert Ticket.objects.get(key="LAB-1").sprint_id is None


def test_keyboard_ranking_moves_a_ticket_up_and_down(scenario, room, client):
    client.force_login(scenario.users["po"])
    up = client.post(
        "/planning/rank/",
        {"ticket": "ML-2", "version": 1, "before": "ML-1", "sprint": room.planned.pk},
        **HTMX,
    )
    assert up.status_code == 200
    # The answer moves the one row; the room shows the new order.
    assert 'hx-swap-oob="beforebegin:#backlog-ML-1"' in up.content.decode()
    assert keys_in_backlog(open_room(client, scenario.users["po"], room)) == [
        "LAB-1",
        "ML-2",
        "ML-1",
    ]
    client.post(
        "/planning/rank/",
        {"ticket": "ML-1", "version": 1, "before": "LAB-1", "sprint": room.planned.pk},
        **HTMX,
    )
    assert keys_in_backlog(open_room(client, scenario.users["po"], room)) == [
        "ML-1",
        "LAB-1",
        "ML-2",
    ]


def test_ranking_renumbers_when_no_gap_is_left(scenario, room, client):
    Ticket.objects.filter(key="LAB-1").update(rank=10)
    Ticket.objects.filter(key="ML-1").update(rank=11)
    Ticket.objects.filter(key="ML-2").update(rank=12)
    client.force_login(scenario.users["po"])
    client.post(
        "/planning/rank/",
        {"ticket": "ML-2", "version": 1, "before": "ML-1", "sprint": room.planned.pk},
        **HTMX,
    )
    assert keys_in_backlog(open_room(client, scenario.users["po"], room)) == [
        "LAB-1",
        "ML-2",
        "ML-1",
    ]


def test_unknown_action_is_404(scenario, room, client):
    client.force_login(scenario.users["sm"])
    assert client.post("/planning/explode/", {"ticket": "LAB-1"}).status_code == 404


def test_room_query_count_does_not_grow_with_the_backlog(scenario, room, client):
    client.force_login(scenario.users["sm"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(f"/planning/?sprint={room.planned.pk}")
        return len(captured.captured_queries)

    def add_linked_pairs(count: int) -> None:
        for team in (scenario.lab, scenario.ml, scenario.qa):
            for _ in range(count):
                blocker = TicketFactory(team=team, sprint=None, status="backlog")
                link_create(
                    actor=scenario.users["sm"],
                    blocker=blocker,
                    blocked=TicketFactory(team=team, sprint=room.planned),
                )

    add_linked_pairs(1)  # every kind of row present once
    few = queries()
    add_linked_pairs(10)
    assert queries() == few


class TestCloseSprint:
    def test_unfinished_work_carries_to_the_next_sprint_done_work_stays(self, scenario, room):
        active = scenario.sprint
        done = TicketFactory(team=scenario.qa, sprint=active, status="done", size=1, progress=1)
        open_ticket = TicketFactory(team=scenario.qa, sprint=active, status="in_progress")
        moved = sprint_close(actor=scenario.users["sm"], sprint=active, carry_to=room.planned)
        assert moved == [open_ticket.key]
        assert Ticket.objects.get(pk=done.pk).sprint_id == active.pk
        assert Ticket.objects.get(pk=open_ticket.pk).sprint_id == room.planned.pk
        assert Sprint.objects.get(pk=active.pk).state == "closed"
        assert TicketEvent.objects.filter(ticket=open_ticket, field="sprint").exists()

    def test_carry_to_the_backlog(self, scenario, room):
        open_ticket = TicketFactory(team=scenario.qa, sprint=scenario.sprint)
        sprint_close(actor=scenario.users["sm"], sprint=scenario.sprint, carry_to=None)
        assert Ticket.objects.get(pk=open_ticket.pk).sprint_id is None

    def test_only_an_active_sprint_and_only_the_scrum_master(self, scenario, room):
        with pytest.raises(PermissionDenied):
            sprint_close(actor=scenario.users["po"], sprint=scenario.sprint, carry_to=None)
        with pytest.raises(Conflict):
            sprint_close(actor=scenario.users["sm"], sprint=room.planned, carry_to=None)
        assert Sprint.objects.get(pk=scenario.sprint.pk).state == "active"

    def test_close_from_the_sprint_page(self, scenario, room, client):
        TicketFactory(team=scenario.qa, sprint=scenario.sprint)
        client.force_login(scenario.users["sm"])
        response = client.post(
            f"/sprints/{scenario.sprint.pk}/close/", {"carry_to": room.planned.pk}, follow=True
        )
        assert "closed; 1 unfinished ticket(s) moved to Sprint 15" in response.content.decode()


def test_an_empty_sprint_promises_nothing(scenario, room, client):
    html = open_room(client, scenario.users["po"], room)
    assert "The forecast starts once tickets are planned." in html
    assert "P(goal met)" not in html


class TestGoalsAndRisks:
    """Sprint goals name the tickets they need; pre-mortem risks end ROAMed, each state with
    what makes it real."""

    def test_po_adds_a_goal_covering_planned_tickets(self, scenario, room, client):
        client.force_login(scenario.users["sm"])
        client.post(
            "/planning/pull/", {"ticket": "ML-2", "version": 1, "sprint": room.planned.pk}, **HTMX
        )
        client.force_login(scenario.users["po"])
        response = client.post(
            f"/planning/{room.planned.pk}/goals/",
            {"text": "Spike answered", "tickets": ["ML-2"]},
            **HTMX,
        )
        assert response.status_code == 200
        assert "Spike answered" in response.content.decode()
        goal = room.planned.goals.get()
        assert list(goal.tickets.values_list("key", flat=True)) == ["ML-2"]

    def test_a_goal_naming_a_ticket_outside_the_sprint_is_refused(self, scenario, room, client):
        client.force_login(scenario.users["po"])
        response = client.post(
            f"/planning/{room.planned.pk}/goals/", {"text": "Label", "tickets": ["LAB-1"]}, **HTMX
        )
        assert response.status_code == 400
        assert not room.planned.goals.exists()

    def test_risk_raised_then_owned_needs_owner_and_follow_up(self, scenario, room, client):
        from planning.models import Risk

        client.force_login(scenario.users["lab_lead"])
        client.post(
            f"/planning/{room.planned.pk}/risks/",
            {"title": "New labels are noisy", "likelihood": 2, "impact": 3},
            **HTMX,
        )
        risk = Risk.objects.get()
        assert (risk.state, risk.exposure) == ("open", 6)
        refused = client.post(
            f"/planning/{room.planned.pk}/risks/{risk.pk}/", {"state": "owned"}, **HTMX
        )
        assert refused.status_code == 400
        assert "needs an owner and a follow-up date" in refused.content.decode()
        owner = scenario.users["lab_lead"]
        done = client.post(
            f"/planning/{room.planned.pk}/risks/{risk.pk}/",
            {"state": "owned", "owner": owner.pk, "follow_up": room.planned.start_date.isoformat()},
            **HTMX,
        )
        assert done.status_code == 200
        risk.refresh_from_db()
        assert (risk.state, risk.owner) == ("owned", owner)

    def test_mitigated_names_its_tickets_and_accepted_its_reason(self, scenario, room, client):
        from planning.models import Risk

        client.force_login(scenario.users["sm"])
        client.post(
            f"/planning/{room.planned.pk}/risks/",
            {"title": "Tool bug halves output", "likelihood": 1, "impact": 3},
            **HTMX,
        )
        risk = Risk.objects.get()
        assert (
            client.post(
                f"/planning/{room.planned.pk}/risks/{risk.pk}/", {"state": "mitigated"}, **HTMX
            ).status_code
            == 400
        )
        assert (
            client.post(
                f"/planning/{room.planned.pk}/risks/{risk.pk}/", {"state": "accepted"}, **HTMX
            ).status_code
            == 400
        )
        ok = client.post(
            f"/planning/{room.planned.pk}/risks/{risk.pk}/",
            {"state": "mitigated", "mitigating": "ml-2"},
            **HTMX,
        )
        assert ok.status_code == 200
        assert list(risk.mitigating_tickets.values_list("key", flat=True)) == ["ML-2"]

    def test_a_member_cannot_raise_risks(self, scenario, room, client):
        from planning.models import Risk

        client.force_login(scenario.users["lab_member"])
        response = client.post(
            f"/planning/{room.planned.pk}/risks/",
            {"title": "x", "likelihood": 1, "impact": 1},
            **HTMX,
        )
        assert response.status_code == 403
        assert not Risk.objects.exists()
