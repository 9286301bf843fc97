"""Celery tasks of the model registry: thin wrappers that load ids and call a service."""

import logging

from celery import Task
from django.contrib.auth import get_user_model
from django.db import OperationalError

from mlmodel.models import TrainingTrigger
from mlmodel.training_runs import (
    TRAINING_RUN_SCHEDULED_TASK,
    TRAINING_RUN_TASK,
    TrainingRunBusy,
    training_run_request,
)
from mlmodel.training_services import (
    DEFAULT_TRAINING_SEED,
    model_version_train,
    training_run_execute,
)
from portal.celery import app

logger = logging.getLogger(__name__)

TRANSIENT_RETRY_SECONDS = 30
MAX_TRANSIENT_RETRIES = 2


@app.task(
    name="mlmodel.model_train_task",
    autoretry_for=(OperationalError,),
    retry_backoff=TRANSIENT_RETRY_SECONDS,
    max_retries=MAX_TRANSIENT_RETRIES,
)
def model_train_task(
    *,
    activate: bool = False,
    seed: int = DEFAULT_TRAINING_SEED,
    actor_id: int | None = None,
    notes: str = "",
    params: dict | None = None,
    evaluate: bool = True,
) -> int:
    """Train on the database's approved rows and register a version; returns its id."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    model_version = model_version_train(
        activate=activate, seed=seed, actor=actor, notes=notes, params=params, evaluate=evaluate
    )
    logger.info("model_train_task registered v%s", model_version.version)
    return model_version.pk


@app.task(name=TRAINING_RUN_TASK, bind=True)
def training_run_task(self: Task, job_id: int) -> None:
    """Run a requested training run; its outcome is recorded on the run by the service.

    The task id goes along so that only the message the run was last sent as may run it.
    """
    training_run_execute(run_id=job_id, task_id=self.request.id)


@app.task(name=TRAINING_RUN_SCHEDULED_TASK)
def training_run_scheduled_task() -> int | None:
    """Periodic (beat, TRAINING_SCHEDULE_SECONDS): request a run; skipped while one is active."""
    try:
        run = training_run_request(trigger=TrainingTrigger.SCHEDULE)
    except TrainingRunBusy as exc:
        logger.info("scheduled training run skipped: %s", exc.errors["detail"][0])
        return None
    return run.pk
