"""Celery entry points for predictions: thin wrappers that load by id and call a service.

Services send these by name (``portal.jobs.enqueue``) and never import this module.
"""

from celery import Task

from portal.celery import app
from predictions.services import BATCH_JOB_RUN_TASK, batch_job_run


@app.task(name=BATCH_JOB_RUN_TASK, bind=True)
def batch_job_run_task(self: Task, job_id: int) -> None:
    """Run a queued batch job; failures are recorded on the job by the service.

    The task id goes along so that only the message the job was last sent as may run it.
    """
    batch_job_run(job_id=job_id, task_id=self.request.id)
