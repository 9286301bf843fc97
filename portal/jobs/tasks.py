"""Celery entry points for every job type."""

from portal.celery import app
from portal.jobs.services import job_fail_stale_all


@app.task(name="portal.jobs.job_fail_stale_task")
def job_fail_stale_task() -> dict[str, int]:
    """Periodic (beat): fail lost jobs of every type, instead of leaving them pending."""
    return job_fail_stale_all()
