"""A sprint's name, dates and goal are changed on its settings page by the Scrum master, at
the version the page showed: a change made meanwhile is shown beside the editor's and never
overwritten; bad input is named beside its field and changes nothing; new dates make the
forecast stale. The API's PATCH takes the same optional version."""

from datetime import timedelta

from sprintplan import derived
from sprints.models import Sprint


def _url(sprint) -> str:
    return f"/sprints/{sprint.pk}/edit/"


def _form(sprint, **changes) -> dict:
    values = {
        "name": sprint.name,
        "start_date": sprint.start_date.isoformat(),
        "end_date": sprint.end_date.isoformat(),
        "goal": sprint.goal,
        "version": sprint.version,
    }
    return {**values, **changes}


def test_the_scrum_master_renames_and_redates_a_sprint_and_its_forecast_goes_stale(
    scenario, client
):
    sprint = scenario.sprint
    client.force_login(scenario.users["sm"])
    page = client.get(_url(sprint))
    assert page.status_code == 200 and "Sprint goal" in page.content.decode()
    later = sprint.end_date + timedelta(days=7)
    before = derived.pending("sprint_forecast")

    answer = client.post(_url(sprint), _form(sprint, name="Sprint 14b", end_date=later))

    assert answer.status_code == 302 and answer["Location"] == f"/sprints/{sprint.pk}/"
    saved = Sprint.objects.get(pk=sprint.pk)
    assert (saved.name, saved.end_date, saved.version) == ("Sprint 14b", later, sprint.version + 1)
    assert derived.pending("sprint_forecast") > before  # the horizon moved: recompute


def test_an_edit_on_an_old_version_shows_theirs_and_keeps_mine(scenario, client):
    sprint = scenario.sprint
    client.force_login(scenario.users["sm"])
    seen = _form(sprint)
    client.post(_url(sprint), {**seen, "name": "Theirs"})  # someone else saved first

    answer = client.post(_url(sprint), {**seen, "name": "Mine", "goal": "Ship v1.1"})

    html = answer.content.decode()
    assert answer.status_code == 409
    assert "Someone else changed this sprint" in html and "Theirs" in html
    assert 'value="Mine"' in html  # what I typed is still in the form
    assert Sprint.objects.get(pk=sprint.pk).name == "Theirs"  # nothing overwritten
    current = Sprint.objects.get(pk=sprint.pk).version
    assert f'value="{current}"' in html  # saving again applies mine on top of theirs
    again = client.post(_url(sprint), {**seen, "name": "Mine", "version": current})
    assert again.status_code == 302 and Sprint.objects.get(pk=sprint.pk).name == "Mine"


def test_an_end_before_the_start_is_named_beside_the_field_and_changes_nothing(scenario, client):
    sprint = scenario.sprint
    client.force_login(scenario.users["sm"])
    early = sprint.start_date - timedelta(days=1)

    answer = client.post(_url(sprint), _form(sprint, end_date=early.isoformat()))

    assert answer.status_code == 400
    assert "cannot end" in answer.content.decode()
    assert Sprint.objects.get(pk=sprint.pk).end_date == sprint.end_date


def test_only_the_scrum_master_edits_a_sprint(scenario, client):
    sprint = scenario.sprint
    client.force_login(scenario.users["lab_lead"])
    assert "Only the Scrum master" in client.get(_url(sprint)).content.decode()

    answer = client.post(_url(sprint), _form(sprint, name="Hijacked"))

    assert answer.status_code == 403
    assert Sprint.objects.get(pk=sprint.pk).name == sprint.name


def test_the_api_patch_refuses_a_stale_version_with_the_current_sprint(scenario, api):
    sprint = scenario.sprint
    sm = api("sm")
    seen = sm.get(f"/api/v1/sprints/{sprint.pk}/").json()["version"]
    assert (
        sm.patch(f"/api/v1/sprints/{sprint.pk}/", {"goal": "A"}, format="json").status_code == 200
    )

    stale = sm.patch(f"/api/v1/sprints/{sprint.pk}/", {"goal": "B", "version": seen}, format="json")

    assert stale.status_code == 409
    body = stale.json()
    assert body["code"] == "stale_version" and body["current"]["goal"] == "A"
    assert body["current"]["version"] == seen + 1
    assert Sprint.objects.get(pk=sprint.pk).goal == "A"
