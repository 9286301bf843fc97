"""Writes for predictions: answer and store one prediction, run batch files.

The model answers first (no database write while it computes), then the answer is stored in
one transaction: a prediction is only ever shown to a user after its row exists.
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from mlmodel import services as mlmodel_services
from mlmodel.core.profile import SalaryProfile
from mlmodel.models import ModelVersion
from mlmodel.services import ServedPrediction
from portal.exceptions import ServiceError
from predictions import batch
from predictions.models import BatchJob, Channel, JobStatus, Prediction

logger = logging.getLogger(__name__)

MILLISECONDS = 1000.0
# Rows per predict_many call in a background job; rows_done is saved after each chunk.
BATCH_CHUNK_ROWS = 2_000
# Field errors kept on the job for the page and the JSON answer; the CSV always has them all.
MAX_STORED_ROW_ERRORS = 1_000
DEFAULT_BATCH_FILE_NAME = "upload.csv"
FILE_NAME_MAX_LENGTH = BatchJob._meta.get_field("file_name").max_length
JOB_FAILED_MESSAGE = (
    "The job stopped because of an unexpected error. Please upload the file again; "
    "if it keeps failing, contact support."
)
PREDICTION_NOT_STORED_MESSAGE = (
    "The estimate could not be saved, so it is not shown. Please try again in a moment."
)
REQUEST_ID_MAX_LENGTH = Prediction._meta.get_field("request_id").max_length
JOB_STALE_MESSAGE = (
    "This job stopped without finishing (its task was lost). Your file is kept; please upload "
    "it again."
)
JOB_QUEUE_FAILED_MESSAGE = (
    "The job could not be queued: the background workers are unreachable. "
    "Please upload the file again in a few minutes."
)


def subject_key_for(*, user, api_token=None) -> str:
    """Who is asking, for sticky A/B assignment: the token for API clients, else the user."""
    if api_token is not None:
        return f"token:{api_token.pk}"
    return f"user:{user.pk}"


def _contributions_json(contributions: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    """Whole dollars, largest effect first: the order every view shows them in."""
    items = [
        {"feature": str(item["feature"]), "usd": round(float(item["usd"]))}  # type: ignore[arg-type]
        for item in contributions
    ]
    return sorted(items, key=lambda item: abs(item["usd"]), reverse=True)


def prediction_create(
    *,
    user,
    profile: SalaryProfile,
    channel: str,
    api_token=None,
    request_id: str = "",
) -> Prediction:
    """Ask the serving model about ``profile`` and store the answer; return the stored row."""
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    started = time.perf_counter()
    served = mlmodel_services.predict(
        profile, subject_key=subject_key_for(user=user, api_token=api_token)
    )
    latency_ms = (time.perf_counter() - started) * MILLISECONDS
    try:
        prediction = _store_prediction(
            user=user,
            api_token=api_token,
            channel=channel,
            profile=profile,
            served=served,
            latency_ms=latency_ms,
            request_id=request_id,
        )
    except DatabaseError as exc:
        logger.exception("could not store a prediction; the answer is withheld")
        raise ServiceError(PREDICTION_NOT_STORED_MESSAGE, status_code=503) from exc
    logger.info(
        "prediction stored",
        extra={
            "prediction_id": prediction.pk,
            "model_version": served.model_version_number,
            "channel": channel,
            "latency_ms": round(latency_ms, 2),
        },
    )
    return prediction


def _store_prediction(
    *,
    user,
    api_token,
    channel: str,
    profile: SalaryProfile,
    served: ServedPrediction,
    latency_ms: float,
    request_id: str,
) -> Prediction:
    # One INSERT is its own transaction (autocommit); an atomic block around it would only
    # add a BEGIN/COMMIT round trip to the hottest path of the API.
    prediction = Prediction.objects.create(
        user=user,
        api_token=api_token,
        channel=channel,
        inputs=profile.as_dict(),
        estimate_usd=served.estimate_usd,
        interval_low_usd=served.interval_low_usd,
        interval_high_usd=served.interval_high_usd,
        interval_level=served.interval_level,
        contributions=_contributions_json(served.contributions),
        model_version_id=served.model_version_id,
        experiment_arm=served.experiment_arm or "",
        latency_ms=latency_ms,
        request_id=request_id[:REQUEST_ID_MAX_LENGTH],
    )
    prediction.model_version = _served_model_version(served)
    return prediction


def _served_model_version(served: ServedPrediction) -> ModelVersion:
    """The answering version as a partial instance, without a query for its artifact bytes.

    Responses only show its number and demo flag, which the served prediction already carries;
    any other field loads lazily from the database if something asks for it.
    """
    return ModelVersion.from_db(
        None,
        ["id", "version", "is_demo"],
        [served.model_version_id, served.model_version_number, served.is_demo],
    )


# --- Batch files ----------------------------------------------------------------------------


@dataclass(slots=True)
class _BatchOutcome:
    """Everything a finished batch stores on its job."""

    writer: batch.ResultWriter
    predicted_count: int = 0
    error_count: int = 0
    row_errors: list[dict[str, object]] = field(default_factory=list)
    model_version_id: int | None = None
    model_version_number: int | None = None

    def record_error(self, row: batch.BatchRow) -> None:
        self.error_count += 1
        if len(self.row_errors) < MAX_STORED_ROW_ERRORS:
            self.row_errors.append({"line": row.line, "errors": row.errors})


def _chunks(rows: Iterator[batch.BatchRow], size: int) -> Iterator[list[batch.BatchRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _version_number(model_version_id: int) -> int:
    return ModelVersion.objects.filter(pk=model_version_id).values_list("version", flat=True).get()


def _predict_chunk(
    chunk: list[batch.BatchRow], outcome: _BatchOutcome, *, subject_key: str
) -> None:
    """One vectorised model call for the chunk's valid rows; every row is written, in order.

    The first call picks the version (sticky A/B arm of the subject); later chunks of the same
    job are pinned to it, so one file is never answered by two models.
    """
    valid = [row for row in chunk if row.profile is not None]
    answers: dict[int, Mapping[str, object]] = {}
    if valid:
        version_id, rows = mlmodel_services.predict_many(
            [row.profile for row in valid],
            subject_key=subject_key,
            version=outcome.model_version_number,
        )
        if outcome.model_version_id is None:
            outcome.model_version_id = version_id
            outcome.model_version_number = _version_number(version_id)
        answers = dict(zip((row.line for row in valid), rows, strict=True))
    for row in chunk:
        answer = answers.get(row.line)
        if answer is None:
            outcome.record_error(row)
            outcome.writer.write(row, None)
            continue
        outcome.predicted_count += 1
        outcome.writer.write(
            row,
            batch.RowEstimate(
                estimate_usd=int(answer["estimate_usd"]),
                interval_low_usd=int(answer["interval_low_usd"]),
                interval_high_usd=int(answer["interval_high_usd"]),
                interval_level=float(answer["interval_level"]),
                model_version=outcome.model_version_number,
            ),
        )


def _file_error(exc: batch.BatchFileError) -> ServiceError:
    status_code = 413 if exc.too_large else 400
    return ServiceError({"file": [exc.message]}, status_code=status_code)


def _clean_file_name(file_name: str) -> str:
    name = os.path.basename((file_name or "").replace("\\", "/")).strip()
    return (name or DEFAULT_BATCH_FILE_NAME)[:FILE_NAME_MAX_LENGTH]


def batch_upload_too_large_error() -> ServiceError:
    limit_mb = settings.BATCH_UPLOAD_MAX_BYTES / (1024 * 1024)
    return ServiceError(
        {"file": [f"The file is larger than {limit_mb:g} MB; split it into smaller files."]},
        status_code=413,
    )


def batch_job_create(*, user, file_name: str, data: bytes, api_token=None) -> BatchJob:
    """Store an uploaded CSV as a job; small files are predicted right away, large ones queued.

    Up to ``BATCH_SYNC_MAX_ROWS`` rows are answered in this call with vectorised model calls and
    a single row written (the job, holding both files). Larger files are stored ``pending`` and
    a Celery task runs them once the transaction has committed. Whole-file problems (encoding,
    header, size) raise ServiceError; bad rows are reported per line and do not stop the rest.
    When the broker refuses the task, the job is kept (failed, with its file) and a 503
    ServiceError says so, rather than the caller reporting a pending job that will never run.
    """
    if len(data) > settings.BATCH_UPLOAD_MAX_BYTES:
        raise batch_upload_too_large_error()
    try:
        table = batch.read_table(data, max_rows=settings.BATCH_MAX_ROWS)
    except batch.BatchFileError as exc:
        raise _file_error(exc) from None
    name = _clean_file_name(file_name)
    subject_key = subject_key_for(user=user, api_token=api_token)
    if table.row_count > settings.BATCH_SYNC_MAX_ROWS:
        queued: list[bool] = []
        with transaction.atomic():
            job = BatchJob.objects.create(
                user=user,
                api_token=api_token,
                status=JobStatus.PENDING,
                file_name=name,
                input_csv=data,
                row_count=table.row_count,
            )
            transaction.on_commit(lambda: queued.append(_enqueue_batch_job(job.pk)))
        # Inside an outer transaction the task is queued at its commit, and a refusal is
        # recorded on the job then; here it already happened.
        if queued == [False]:
            raise ServiceError(JOB_QUEUE_FAILED_MESSAGE, status_code=503)
        logger.info("batch job queued", extra={"job_id": job.pk, "rows": table.row_count})
        return job

    started_at = timezone.now()
    outcome = _BatchOutcome(writer=batch.ResultWriter(table.columns))
    for chunk in _chunks(batch.parse_rows(table), table.row_count):
        _predict_chunk(chunk, outcome, subject_key=subject_key)
    with transaction.atomic():
        job = BatchJob.objects.create(
            user=user,
            api_token=api_token,
            status=JobStatus.SUCCEEDED,
            file_name=name,
            input_csv=data,
            row_count=table.row_count,
            rows_done=table.row_count,
            predicted_count=outcome.predicted_count,
            error_count=outcome.error_count,
            row_errors=outcome.row_errors,
            result_csv=outcome.writer.getvalue(),
            model_version_id=outcome.model_version_id,
            started_at=started_at,
            finished_at=timezone.now(),
        )
    logger.info(
        "batch answered",
        extra={
            "job_id": job.pk,
            "rows": table.row_count,
            "predicted": outcome.predicted_count,
            "errors": outcome.error_count,
        },
    )
    return job


def _enqueue_batch_job(job_id: int) -> bool:
    """Send the job to the worker; if the broker refuses, record the job failed. True if sent."""
    from predictions.tasks import batch_job_run_task

    try:
        batch_job_run_task.delay(job_id)
    except Exception:
        logger.exception("could not queue batch job", extra={"job_id": job_id})
        batch_job_fail(job_id=job_id, message=JOB_QUEUE_FAILED_MESSAGE)
        return False
    return True


def batch_job_fail(*, job_id: int, message: str) -> None:
    """Record that a job stopped, with a message its owner can read."""
    BatchJob.objects.filter(pk=job_id).exclude(status=JobStatus.SUCCEEDED).update(
        status=JobStatus.FAILED, message=message, finished_at=timezone.now()
    )


def batch_job_fail_stale(*, now: datetime.datetime | None = None) -> int:
    """Fail jobs that no worker can still be running, so none stays "pending" for ever.

    A job is stale once it waited (pending) or ran longer than ``BATCH_STALE_AFTER_SECONDS``,
    which is longer than the task time limit: by then its task was lost (a broker outage, a
    purged queue). Its uploaded file stays on the job. Returns how many jobs were failed.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.BATCH_STALE_AFTER_SECONDS)
    stale = BatchJob.objects.filter(
        Q(status=JobStatus.PENDING, created_at__lt=cutoff)
        | Q(status=JobStatus.RUNNING, started_at__lt=cutoff)
    )
    failed = stale.update(status=JobStatus.FAILED, message=JOB_STALE_MESSAGE, finished_at=now)
    if failed:
        logger.warning("failed stale batch jobs", extra={"count": failed})
    return failed


def _claim(job_id: int) -> BatchJob | None:
    """Mark the job running; a finished job (e.g. a redelivered task) is left alone."""
    claimed = BatchJob.objects.filter(
        pk=job_id, status__in=(JobStatus.PENDING, JobStatus.RUNNING)
    ).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        rows_done=0,
        predicted_count=0,
        error_count=0,
        message="",
    )
    if not claimed:
        return None
    return BatchJob.objects.select_related("user", "api_token").get(pk=job_id)


def batch_job_run(*, job_id: int) -> None:
    """Predict a queued job's rows in chunks, saving progress after each; record any failure."""
    job = _claim(job_id)
    if job is None:
        logger.info("batch job already finished or gone; nothing to do", extra={"job_id": job_id})
        return
    try:
        _run_claimed_job(job)
    except batch.BatchFileError as exc:
        batch_job_fail(job_id=job_id, message=exc.message)
    except ServiceError as exc:
        messages = [message for field in exc.errors.values() for message in field]
        batch_job_fail(job_id=job_id, message=" ".join(messages))
    except Exception:
        logger.exception("batch job failed", extra={"job_id": job_id})
        batch_job_fail(job_id=job_id, message=JOB_FAILED_MESSAGE)


def _run_claimed_job(job: BatchJob) -> None:
    table = batch.read_table(bytes(job.input_csv), max_rows=settings.BATCH_MAX_ROWS)
    subject_key = subject_key_for(user=job.user, api_token=job.api_token)
    outcome = _BatchOutcome(writer=batch.ResultWriter(table.columns))
    rows_done = 0
    for chunk in _chunks(batch.parse_rows(table), BATCH_CHUNK_ROWS):
        _predict_chunk(chunk, outcome, subject_key=subject_key)
        rows_done += len(chunk)
        BatchJob.objects.filter(pk=job.pk).update(
            rows_done=rows_done,
            predicted_count=outcome.predicted_count,
            error_count=outcome.error_count,
        )
    BatchJob.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED,
        row_count=table.row_count,
        rows_done=rows_done,
        predicted_count=outcome.predicted_count,
        error_count=outcome.error_count,
        row_errors=outcome.row_errors,
        result_csv=outcome.writer.getvalue(),
        model_version_id=outcome.model_version_id,
        finished_at=timezone.now(),
    )
    logger.info(
        "batch job succeeded",
        extra={
            "job_id": job.pk,
            "rows": table.row_count,
            "predicted": outcome.predicted_count,
            "errors": outcome.error_count,
        },
    )
