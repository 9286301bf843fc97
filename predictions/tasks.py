"""Celery entry points for predictions: thin wrappers that load by id and call a service.

Services send these by name (``portal.jobs.enqueue``) and never import this module.
"""

from celery import Task
from django.conf import settings

from portal.celery import app
from predictions.services import (
    BATCH_JOB_RUN_TASK,
    EXPOSURE_TASK,
    batch_job_run,
    prediction_exposures_drain,
    prediction_exposures_reconcile,
)


@app.task(name=BATCH_JOB_RUN_TASK, bind=True)
def batch_job_run_task(self: Task, job_id: int) -> None:
    """Run a queued batch job; failures are recorded on the job by the service.

    The task id goes along so that only the message the job was last sent as may run it.
    """
    batch_job_run(job_id=job_id, task_id=self.request.id)


@app.task(name=EXPOSURE_TASK)
def prediction_exposures_record_task() -> int:
    """Record the pending experiment exposures and shadow answers, in bulk (idempotent)."""
    return prediction_exposures_drain()


@app.task(name="predictions.prediction_exposures_reconcile_task")
def prediction_exposures_reconcile_task() -> int:
    """Beat: record exposures whose message was lost (broker or worker down)."""
    return prediction_exposures_reconcile(
        older_than_seconds=settings.EXPERIMENT_RECONCILE_GRACE_SECONDS,
        limit=settings.EXPERIMENT_RECONCILE_BATCH,
    )
