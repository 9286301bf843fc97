"""Enqueueing Celery tasks: the one convention of the project.

* A service enqueues a task by its **name** with ``enqueue_on_commit``; services never import a
  ``tasks`` module. Tasks import services (a task loads by id and calls one service), so imports
  run one way only: ``<app>.tasks → <app>.services → portal.jobs.enqueue``. The name is a
  constant next to the service that sends it (for a job, its type's ``task_name``, which the
  heartbeat sweep sends too) and the task's ``@app.task(name=…)`` uses that constant, so the
  two cannot drift apart. Names follow ``"<package>.<function>"`` for a function in
  ``<package>/tasks.py``, declared on the project's app (``portal.celery``).
* The task is sent when the current transaction **commits** (``transaction.on_commit``), so the
  worker finds the rows it is given; if the transaction rolls back, nothing is ever sent.
  Outside a transaction it is sent at once.
* With a broker the message is published by name (``send_task``): a web process needs no task
  code, so it never imports what only workers need (the training stack behind
  ``mlmodel.tasks``). Without one (``CELERY_TASK_ALWAYS_EAGER``) this process is the worker: the
  task runs inline, its module imported on first use (``portal.celery.registered_task``), and
  an unknown name is a ``LookupError``, never a message nobody reads.
* A broker that refuses the message (``kombu`` ``OperationalError``) is reported to
  ``on_refused``, and ``Enqueued.sent`` says what happened once the transaction committed. A job
  uses ``portal.jobs.services.job_enqueue``, which fails the job in that case.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from celery.utils import uuid
from django.db import transaction
from kombu.exceptions import OperationalError

from portal.celery import app as celery_app
from portal.celery import registered_task

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Enqueued:
    """A task enqueued on commit; ``sent`` is ``None`` until the transaction has committed."""

    task_name: str
    task_id: str
    sent: bool | None = None


def enqueue_on_commit(
    task_name: str,
    *,
    kwargs: Mapping[str, object],
    task_id: str | None = None,
    on_refused: Callable[[], None] | None = None,
    countdown: float | None = None,
) -> Enqueued:
    """Send task ``task_name(**kwargs)`` once the current transaction commits.

    ``task_id`` defaults to a fresh one, so a caller can store it before the task exists.
    Without ``on_refused`` a refusing broker raises at commit instead of passing unnoticed.
    ``countdown`` delays the run by that many seconds (ignored when tasks run inline).
    """
    enqueued = Enqueued(task_name=task_name, task_id=task_id or uuid())
    transaction.on_commit(partial(_send, enqueued, dict(kwargs), on_refused, countdown))
    return enqueued


def _send(
    enqueued: Enqueued,
    kwargs: dict[str, object],
    on_refused: Callable[[], None] | None,
    countdown: float | None = None,
) -> None:
    if celery_app.conf.task_always_eager:
        task = registered_task(enqueued.task_name)
        enqueued.sent = True
        task.apply_async(kwargs=kwargs, task_id=enqueued.task_id)
        return
    try:
        celery_app.send_task(
            enqueued.task_name, kwargs=kwargs, task_id=enqueued.task_id, countdown=countdown
        )
    except OperationalError:
        enqueued.sent = False
        logger.exception(
            "the broker refused a task",
            extra={"task": enqueued.task_name, "task_id": enqueued.task_id},
        )
        if on_refused is None:
            raise
        on_refused()
        return
    enqueued.sent = True
