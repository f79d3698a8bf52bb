from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from imports import services
from imports.models import ImportJob

REPO = Path(__file__).resolve().parents[2]
SHARED_JIRA = REPO.parent / "shared" / "fixtures" / "jira"
SYNTHETIC = Path(__file__).resolve().parent / "data"


def shared_fixture(name: str) -> Path:
    path = SHARED_JIRA / name
    if not path.exists():
        pytest.skip(f"shared fixture {name} is not on this machine")
    return path


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def run_csv_import(actor, data: bytes, *, name="export.csv", mapping=None, apply=True) -> ImportJob:
    """Create → read → map → preview → apply, as the page does (tasks run in-process)."""
    with committed():
        job = services.import_create(actor=actor, source="csv", upload=upload(name, data))
    job.refresh_from_db()
    assert job.state in (ImportJob.State.MAPPING, ImportJob.State.PREVIEWED), job.error
    return map_and_apply(actor, job, mapping=mapping, apply=apply)


def map_and_apply(actor, job, *, mapping=None, apply=True) -> ImportJob:
    with committed():
        job = services.import_map(actor=actor, job=job, mapping=mapping or {})
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED, job.error
    if apply:
        with committed():
            services.import_apply(actor=actor, job=job)
        job.refresh_from_db()
    return job


def committed():
    """Run what the code queues with transaction.on_commit (the tasks) at the block's end."""
    return TestCase.captureOnCommitCallbacks(execute=True)
