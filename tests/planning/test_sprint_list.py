"""The sprint list: the Scrum master plans the next sprint from it; everyone sees recent
velocity (committed vs completed per team)."""

from datetime import date
from decimal import Decimal

from sprints.models import Sprint

from ..factories import SprintFactory, TicketFactory


def test_scrum_master_creates_a_sprint_and_lands_in_its_planning_room(scenario, client):
    client.force_login(scenario.users["sm"])
    response = client.post(
        "/sprints/",
        {"name": "Sprint 16", "start_date": "2027-01-04", "end_date": "2027-01-15", "goal": ""},
    )
    sprint = Sprint.objects.get(name="Sprint 16")
    assert response.status_code == 302
    assert response["Location"] == f"/planning/?sprint={sprint.pk}"
    assert sprint.state == Sprint.State.PLANNING


def test_a_sprint_ending_before_it_starts_is_refused_beside_the_field(scenario, client):
    client.force_login(scenario.users["sm"])
    before = Sprint.objects.count()
    response = client.post(
        "/sprints/", {"name": "Backwards", "start_date": "2027-01-15", "end_date": "2027-01-04"}
    )
    assert response.status_code == 400
    assert response.context["sprint_form"].errors["end_date"] == [
        "The sprint cannot end (2027-01-04) before it starts (2027-01-15)."
    ]
    assert Sprint.objects.count() == before


def test_only_the_scrum_master_sees_the_form_and_a_forged_post_is_refused(scenario, client):
    client.force_login(scenario.users["ml_lead"])
    page = client.get("/sprints/")
    assert "Plan a new sprint" not in page.content.decode()
    forged = client.post(
        "/sprints/", {"name": "Sneaky", "start_date": "2027-01-04", "end_date": "2027-01-15"}
    )
    assert forged.status_code == 403
    assert not Sprint.objects.filter(name="Sneaky").exists()


def test_list_shows_velocity_of_recent_sprints(scenario, client):
    earlier = SprintFactory(
        name="Sprint 13", start_date=date(2026, 10, 26), end_date=date(2026, 11, 6)
    )
    TicketFactory(team=scenario.lab, sprint=earlier, size=Decimal(300))
    client.force_login(scenario.users["viewer"])
    body = client.get("/sprints/").content.decode()
    assert "Velocity: committed vs completed" in body
    assert "0 / 300" in body


def test_of_concurrent_sprints_the_oldest_record_is_the_current_and_planning_target(scenario):
    from planning.selectors import current_sprint, planning_target

    day = date(2027, 3, 1)
    first_active = SprintFactory(name="Team sprint", start_date=day)
    SprintFactory(name="Program iteration", start_date=day)
    first_planned = SprintFactory(name="Next", start_date=day, state=Sprint.State.PLANNING)
    SprintFactory(name="Next iteration", start_date=day, state=Sprint.State.PLANNING)
    scenario.sprint.delete()  # the fixture's own sprint would start earlier
    assert current_sprint() == first_active
    assert planning_target() == first_planned
