"""Celery entry points: job id in, idempotent (a job in another state is left alone), acks
late so a job whose worker died is delivered again and resumes from its stored cursor."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def read_source(job_id: int) -> None:
    services.source_read(job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def build_preview(job_id: int) -> None:
    services.preview_build(job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def apply_import(job_id: int) -> None:
    services.apply_run(job_id)


@shared_task(ignore_result=True)
def resume_imports() -> None:
    """Safety net: an apply whose message was lost (broker restart) continues from its cursor."""
    for job_id in services.stalled_job_ids():
        services.apply_run(job_id)
