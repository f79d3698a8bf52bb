"""Apply runs in bounded chunks and resumes after a worker dies, without duplicates."""

import pytest

from dependencies.models import DependencyLink
from imports import services
from imports.models import ImportedIssue, ImportJob
from tickets.models import Ticket, TicketEvent

from .conftest import SYNTHETIC, run_csv_import

pytestmark = pytest.mark.django_db

SMALL = (SYNTHETIC / "small.csv").read_bytes()


class WorkerLost(Exception):
    """Stands for the process dying: nothing in the importer catches it."""


def snapshot():
    return (
        Ticket.objects.count(),
        DependencyLink.objects.count(),
        # Link and "imported" events are stamped when written; the history brought in keeps
        # Jira's times.
        sorted(
            (title, field, None if field in {"blocks", "blocked_by", "imported"} else at)
            for title, field, at in TicketEvent.objects.values_list("ticket__title", "field", "at")
        ),
    )


def test_an_apply_cut_off_mid_history_resumes_at_its_cursor_and_ends_as_a_clean_run(
    scenario, monkeypatch
):
    sm = scenario.users["sm"]
    monkeypatch.setattr(services, "TICKET_CHUNK", 2)
    monkeypatch.setattr(services, "EVENT_CHUNK", 3)
    real = services.ticket_history_import
    calls = {"n": 0}

    def dies_on_the_second_chunk(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerLost
        return real(**kwargs)

    monkeypatch.setattr(services, "ticket_history_import", dies_on_the_second_chunk)
    run_csv_import(sm, SMALL)  # the task dies (Celery logs the exception)
    job = ImportJob.objects.get()
    assert job.state == ImportJob.State.APPLYING
    assert (job.phase, job.cursor) == ("events", 3)  # the first chunk of 3 is committed
    assert 0 < job.done < job.total

    services.apply_run(job.pk)  # the task delivered again
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE, job.error
    resumed = snapshot()

    # The same import from scratch, in a clean database, gives the same rows.
    TicketEvent.objects.all().delete()
    DependencyLink.objects.all().delete()
    ImportedIssue.objects.all().delete()
    Ticket.objects.all().delete()
    monkeypatch.setattr(services, "ticket_history_import", real)
    run_csv_import(sm, SMALL)
    assert snapshot() == resumed


def test_progress_reports_rows_done_of_total_and_an_eta(scenario):
    job = run_csv_import(scenario.users["sm"], SMALL)
    assert job.done == job.total > 0
    assert services.eta_seconds(job) is None  # finished: no time left to tell
    job.state, job.done = ImportJob.State.APPLYING, job.total // 2
    assert services.eta_seconds(job) >= 0
