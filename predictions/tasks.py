"""Celery entry points for predictions: thin wrappers that load by id and call a service."""

from celery import shared_task

from predictions.services import batch_job_fail_stale, batch_job_run


@shared_task(name="predictions.batch_job_run_task")
def batch_job_run_task(job_id: int) -> None:
    """Run a queued batch job; failures are recorded on the job by the service."""
    batch_job_run(job_id=job_id)


@shared_task(name="predictions.batch_job_fail_stale_task")
def batch_job_fail_stale_task() -> int:
    """Periodic (beat): tell owners of lost jobs, instead of leaving them pending."""
    return batch_job_fail_stale()
