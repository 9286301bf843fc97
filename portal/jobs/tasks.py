"""Celery entry points for every job type."""

from portal.celery import app
from portal.jobs.services import job_fail_stale_all, job_recover_lost_all


@app.task(name="portal.jobs.job_fail_stale_task")
def job_fail_stale_task() -> dict[str, int]:
    """Periodic (beat): fail lost jobs of every type, instead of leaving them pending."""
    return job_fail_stale_all()


@app.task(name="portal.jobs.job_recover_lost_task")
def job_recover_lost_task() -> dict[str, dict[str, int]]:
    """Periodic (beat): send again, or fail, running jobs of every type whose worker died."""
    return job_recover_lost_all()
