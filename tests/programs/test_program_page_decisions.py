"""The program overview shows its latest decision records (the single source of truth the
seed asks for), linking to the full log."""

from django.urls import reverse

from programs.services.governance import decision_create


def test_program_page_shows_the_latest_decision_records(program, client):
    decision_create(
        actor=program.users["sm"],
        program=program.program,
        title="Certified dataset gate before QA",
        context="Models reached QA without a baseline check.",
        decision="No model goes to QA unless it passes the baseline on the certified set.",
        status="accepted",
    )
    client.force_login(program.users["viewer"])
    page = client.get(reverse("program-detail", args=[program.program.pk])).content.decode()
    assert "DR-1" in page and "Certified dataset gate before QA" in page
    assert reverse("program-decisions", args=[program.program.pk]) in page
