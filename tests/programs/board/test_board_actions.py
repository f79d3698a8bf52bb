"""The board's forms answer through the generic page actions as before: a plain POST
returns to the form's place on the board, a refusal on a feature row stays on that row,
and a feature of another PI is not reachable through this PI's URL."""

from datetime import date

from django.urls import reverse

from programs.models import Feature, Milestone, PlanningInterval


def test_a_plain_post_returns_to_the_forms_anchor_on_the_board(program, client):
    client.force_login(program.users["sm"])
    answer = client.post(
        reverse("pi-milestone-add", args=[program.pi.pk]),
        {"name": "Beta", "date": "2027-01-20", "kind": "event"},
    )
    board = reverse("pi-board", args=[program.pi.pk])
    assert (answer.status_code, answer["Location"]) == (302, board + "#milestone-add")
    assert Milestone.objects.filter(name="Beta", pi=program.pi).exists()


def test_a_refused_move_shows_the_message_on_the_features_row(program, client):
    feature = Feature.objects.create(pi=program.pi, team=program.ml, title="Ranker v2")
    client.force_login(program.users["sm"])
    answer = client.post(
        reverse("pi-feature-move", args=[program.pi.pk, feature.pk]),
        {"planned_sprint": 999999, "version": 1},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 400
    row = answer.text.split(f'<tr id="feature-{feature.pk}">', 1)[1].split("</tr>", 1)[0]
    assert '<p class="error" role="alert">' in row
    feature.refresh_from_db()
    assert feature.planned_sprint_id is None


def test_a_feature_of_another_pi_is_404(program, client):
    other = PlanningInterval.objects.create(
        program=program.program,
        name="PI 2026.4",
        start_date=date(2026, 10, 5),
        end_date=date(2026, 12, 18),
    )
    feature = Feature.objects.create(pi=program.pi, team=program.ml, title="Ranker v2")
    client.force_login(program.users["sm"])
    moved = client.post(
        reverse("pi-feature-move", args=[other.pk, feature.pk]),
        {"planned_sprint": program.sprints[0].pk, "version": 1},
    )
    assert moved.status_code == 404
    feature.refresh_from_db()
    assert feature.planned_sprint_id is None
