"""Writes for predictions: answer and store one prediction, run batch files.

The model answers first (no database write while it computes), then the answer is stored in
one transaction: a prediction is only ever shown to a user after its row exists.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.utils import timezone

from mlmodel import services as mlmodel_services
from mlmodel.core.profile import SalaryProfile
from mlmodel.models import ModelVersion
from mlmodel.services import ServedPrediction
from portal import metrics
from portal.celery import app as celery_app
from portal.db.insert import CompiledInsert, insert_rows
from portal.exceptions import InvalidInput, PayloadTooLarge, ServiceError, Unavailable
from portal.jobs.enqueue import enqueue_on_commit
from portal.jobs.models import FULL_PERCENT
from portal.jobs.services import (
    job_enqueue,
    job_fail,
    job_heartbeat,
    job_progress,
    job_start,
    job_succeed,
)
from portal.submissions import submission_key
from predictions import batch, rules
from predictions.models import (
    BatchJob,
    Channel,
    JobStatus,
    PendingExposure,
    Prediction,
    ShadowPrediction,
    TitleMatch,
)

logger = logging.getLogger(__name__)

MILLISECONDS = 1000.0
# Rows per predict_many call in a background job; rows_done is saved after each chunk.
BATCH_CHUNK_ROWS = 2_000
# Sent by batch_job_create once its transaction commits, and again by the heartbeat sweep when
# the job's worker died; predictions.tasks registers it.
BATCH_JOB_RUN_TASK = BatchJob.task_name
BATCH_STAGE_PREDICTING = "predicting"
# Field errors kept on the job for the page and the JSON answer; the CSV always has them all.
MAX_STORED_ROW_ERRORS = 1_000
MAX_STORED_UNRECOGNISED_TITLES = 50
# Titles the job page lists: not in the data (estimated from a family, or the overall mean).
UNRECOGNISED_TITLE_MATCHES = (TitleMatch.FAMILY_RULE, TitleMatch.UNKNOWN)
DEFAULT_BATCH_FILE_NAME = "upload.csv"
FILE_NAME_MAX_LENGTH = BatchJob._meta.get_field("file_name").max_length
JOB_FAILED_MESSAGE = (
    "The job stopped because of an unexpected error. Please upload the file again; "
    "if it keeps failing, contact support."
)
PREDICTION_NOT_STORED_MESSAGE = (
    "The estimate could not be saved, so it is not shown. Please try again in a moment."
)
BATCH_NOT_STORED_MESSAGE = "Your file could not be stored just now. Please upload it again."
REQUEST_ID_MAX_LENGTH = Prediction._meta.get_field("request_id").max_length
JOB_QUEUE_FAILED_MESSAGE = BatchJob.queue_refused_message


UNIT_PREFIX = "user:"


def unit_for(*, user) -> str:
    """The experiment unit: the person, so one user sees one version on the web form, through
    any of their API tokens and in batch files alike."""
    return f"{UNIT_PREFIX}{user.pk}"


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
    submission: str | None = None,
) -> Prediction:
    """Ask the serving model about ``profile`` and store the answer; return the stored row.

    A ``submission`` id already used by this user raises :class:`AlreadySubmitted` (the
    unique constraint decides, so two simultaneous posts of one form cannot both store).
    """
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    started = time.perf_counter()
    served = mlmodel_services.predict(profile, unit=unit_for(user=user))
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
            submission=submission,
        )
    except DatabaseError as exc:
        if submission and isinstance(exc, IntegrityError):
            raise AlreadySubmitted() from exc
        logger.exception("could not store a prediction; the answer is withheld")
        raise Unavailable(PREDICTION_NOT_STORED_MESSAGE) from exc
    metrics.prediction_served(served, channel=channel, latency_ms=latency_ms)
    if served.experiment_id is not None:
        exposure_enqueue(prediction_id=prediction.pk)
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


class AlreadySubmitted(Exception):
    """This form's one-time id created its object already (``portal/submissions.py``)."""


@dataclass(frozen=True)
class Submitted:
    """What a form's submission created: ``created`` is False for a form sent again."""

    object: Prediction | BatchJob
    created: bool


@contextlib.contextmanager
def _once(submission: str | None) -> Iterator[None]:
    """``transaction.atomic()`` in which this form's id clashing with a stored one means the
    form was sent again: the block rolls back (nothing half-written) and says so."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        if not submission:
            raise
        raise AlreadySubmitted() from exc


def prediction_create_once(
    *, user, profile: SalaryProfile, submission: str, request_id: str = ""
) -> Submitted:
    """The web form's prediction: a form sent again answers with the prediction it made (a
    form without an id, from an old page, just predicts)."""
    submission = submission_key(submission, json.dumps(profile.as_dict(), sort_keys=True).encode())
    existing = (
        Prediction.objects.filter(user=user, submission=submission).first() if submission else None
    )
    if existing is not None:
        return Submitted(existing, created=False)
    try:
        # Its own transaction (a savepoint inside an outer one): a clash with a simultaneous
        # post of the same form must not break the caller's transaction.
        with transaction.atomic():
            prediction = prediction_create(
                user=user,
                profile=profile,
                channel=Channel.WEB,
                request_id=request_id,
                submission=submission,
            )
    except AlreadySubmitted:
        existing = Prediction.objects.filter(user=user, submission=submission).first()
        if existing is None:  # the clash was not this form's id
            raise Unavailable(PREDICTION_NOT_STORED_MESSAGE) from None
        return Submitted(existing, created=False)
    except DatabaseError as exc:  # the savepoint's commit (a deferred constraint)
        logger.exception("could not store a prediction; the answer is withheld")
        raise Unavailable(PREDICTION_NOT_STORED_MESSAGE) from exc
    return Submitted(prediction, created=True)


def _store_prediction(
    *,
    user,
    api_token,
    channel: str,
    profile: SalaryProfile,
    served: ServedPrediction,
    latency_ms: float,
    request_id: str,
    submission: str | None,
) -> Prediction:
    # One INSERT is its own transaction (autocommit); an atomic block around it would only
    # add a BEGIN/COMMIT round trip to the hottest path of the API.
    prediction = _prediction_insert().save(
        Prediction(
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
            experiment_id=served.experiment_id,
            arm_id=served.arm_id,
            experiment_phase=served.experiment_phase,
            experiment_slot=served.experiment_slot,
            latency_ms=latency_ms,
            request_id=request_id[:REQUEST_ID_MAX_LENGTH],
            title_match=served.title_match,
            title_weight=served.title_weight,
            submission=submission or "",
        )
    )
    prediction.model_version = _served_model_version(served)
    return prediction


@functools.cache
def _prediction_insert() -> CompiledInsert:
    """The prediction INSERT, compiled once per process (``portal/db/insert.py``)."""
    return CompiledInsert(Prediction)


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
    title_rows: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def record_error(self, row: batch.BatchRow) -> None:
        self.error_count += 1
        if len(self.row_errors) < MAX_STORED_ROW_ERRORS:
            self.row_errors.append({"line": row.line, "errors": row.errors})

    def record_title(self, title: str, match: str, treated_as: str) -> None:
        if match in UNRECOGNISED_TITLE_MATCHES:
            self.title_rows[(title, match, treated_as)] += 1

    def unrecognised_titles(self) -> list[dict[str, object]]:
        """The job page's list: each title not in the data, what it was read as, how often."""
        return [
            {"title": title, "match": match, "treated_as": treated_as, "rows": rows}
            for (title, match, treated_as), rows in self.title_rows.most_common(
                MAX_STORED_UNRECOGNISED_TITLES
            )
        ]


def _chunks(rows: Iterator[batch.BatchRow], size: int) -> Iterator[list[batch.BatchRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _version_number(model_version_id: int) -> int:
    return ModelVersion.objects.filter(pk=model_version_id).values_list("version", flat=True).get()


def _predict_chunk(chunk: list[batch.BatchRow], outcome: _BatchOutcome, *, unit: str) -> None:
    """One vectorised model call for the chunk's valid rows; every row is written, in order.

    The first call picks the version (sticky A/B arm of the subject); later chunks of the same
    job are pinned to it, so one file is never answered by two models.
    """
    valid = [row for row in chunk if row.profile is not None]
    answers: dict[int, Mapping[str, object]] = {}
    if valid:
        version_id, rows = mlmodel_services.predict_many(
            [row.profile for row in valid],
            unit=unit,
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
        outcome.record_title(
            row.profile.job_title,
            str(answer.get("title_match", "")),
            str(answer.get("title_treated_as", "")),
        )
        outcome.writer.write(
            row,
            batch.RowEstimate(
                estimate_usd=int(answer["estimate_usd"]),
                interval_low_usd=int(answer["interval_low_usd"]),
                interval_high_usd=int(answer["interval_high_usd"]),
                interval_level=float(answer["interval_level"]),
                model_version=outcome.model_version_number,
                title_match=str(answer.get("title_match", "")),
                title_treated_as=str(answer.get("title_treated_as", "")),
            ),
        )


def _file_error(exc: batch.BatchFileError) -> ServiceError:
    kind = PayloadTooLarge if exc.too_large else InvalidInput
    return kind({"file": [exc.message]})


def _clean_file_name(file_name: str) -> str:
    name = os.path.basename((file_name or "").replace("\\", "/")).strip()
    return (name or DEFAULT_BATCH_FILE_NAME)[:FILE_NAME_MAX_LENGTH]


def batch_job_create_once(*, user, file_name: str, data: bytes, submission: str) -> Submitted:
    """The upload form's job: a form sent again answers with the job it made (the same file;
    another file with the same page is a new upload)."""
    submission = submission_key(submission, data)
    existing = (
        BatchJob.objects.filter(user=user, submission=submission).first() if submission else None
    )
    if existing is not None:
        return Submitted(existing, created=False)
    try:
        job = batch_job_create(user=user, file_name=file_name, data=data, submission=submission)
    except AlreadySubmitted:
        existing = BatchJob.objects.filter(user=user, submission=submission).first()
        if existing is None:  # the clash was not this form's id
            raise Unavailable(BATCH_NOT_STORED_MESSAGE) from None
        return Submitted(existing, created=False)
    return Submitted(job, created=True)


def batch_job_create(
    *, user, file_name: str, data: bytes, api_token=None, submission: str | None = None
) -> BatchJob:
    """Store an uploaded CSV as a job; small files are predicted right away, large ones queued.

    Up to ``BATCH_SYNC_MAX_ROWS`` rows are answered in this call with vectorised model calls and
    a single row written (the job, holding both files). Larger files are stored ``pending`` and
    a Celery task runs them once the transaction has committed. Whole-file problems (encoding,
    header, size) raise ServiceError; bad rows are reported per line and do not stop the rest.
    When the broker refuses the task, the job is kept (failed, with its file) and a 503
    ServiceError says so, rather than the caller reporting a pending job that will never run.
    """
    rules.batch_upload_size_check(size=len(data))
    try:
        table = batch.read_table(data, max_rows=settings.BATCH_MAX_ROWS)
    except batch.BatchFileError as exc:
        raise _file_error(exc) from None
    name = _clean_file_name(file_name)
    unit = unit_for(user=user)
    if table.row_count > settings.BATCH_SYNC_MAX_ROWS:
        with _once(submission):
            job = BatchJob.objects.create(
                user=user,
                api_token=api_token,
                status=JobStatus.PENDING,
                file_name=name,
                input_csv=data,
                row_count=table.row_count,
                submission=submission or "",
            )
            enqueued = job_enqueue(
                job=job, task_name=BATCH_JOB_RUN_TASK, refused_message=JOB_QUEUE_FAILED_MESSAGE
            )
        # Inside an outer transaction the task is queued at its commit, and a refusal is
        # recorded on the job then; here it already happened.
        if enqueued.sent is False:
            if submission:  # the form sent again (a retry) must try again, not find this job
                BatchJob.objects.filter(pk=job.pk).update(submission="")
            raise Unavailable(JOB_QUEUE_FAILED_MESSAGE)
        logger.info("batch job queued", extra={"job_id": job.pk, "rows": table.row_count})
        return job

    started_at = timezone.now()
    outcome = _BatchOutcome(writer=batch.ResultWriter(table.columns))
    for chunk in _chunks(batch.parse_rows(table), table.row_count):
        _predict_chunk(chunk, outcome, unit=unit)
    with _once(submission):
        job = BatchJob.objects.create(
            user=user,
            api_token=api_token,
            submission=submission or "",
            status=JobStatus.SUCCEEDED,
            file_name=name,
            input_csv=data,
            row_count=table.row_count,
            rows_done=table.row_count,
            progress_percent=FULL_PERCENT,
            predicted_count=outcome.predicted_count,
            error_count=outcome.error_count,
            row_errors=outcome.row_errors,
            unrecognised_titles=outcome.unrecognised_titles(),
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


def batch_job_run(*, job_id: int, task_id: str | None = None) -> None:
    """Predict a queued job's rows in chunks, saving progress after each; record any failure.

    The claim makes a redelivered task harmless: a finished job is left alone, a copy of a
    message the job was sent as before (``task_id``) does nothing, and a job whose worker died
    mid-run starts over from its first row. A thread keeps its heartbeat while it runs.
    """
    claimed = job_start(
        model=BatchJob,
        job_id=job_id,
        stage=BATCH_STAGE_PREDICTING,
        reset={"rows_done": 0, "predicted_count": 0, "error_count": 0},
        task_id=task_id,
    )
    if not claimed:
        logger.info(
            "batch job finished, gone, sent again or out of attempts; nothing to do",
            extra={"job_id": job_id, "task_id": task_id},
        )
        return
    job = BatchJob.objects.select_related("user", "api_token").get(pk=job_id)
    try:
        with job_heartbeat(job=job):
            _run_claimed_job(job)
    except batch.BatchFileError as exc:
        job_fail(job=job, message=exc.message)
    except ServiceError as exc:
        messages = [message for field in exc.errors.values() for message in field]
        job_fail(job=job, message=" ".join(messages))
    except Exception:
        logger.exception("batch job failed", extra={"job_id": job_id})
        job_fail(job=job, message=JOB_FAILED_MESSAGE)


def _percent_done(rows_done: int, row_count: int) -> int:
    if not row_count:
        return 0
    return min(FULL_PERCENT, round(FULL_PERCENT * rows_done / row_count))


def _run_claimed_job(job: BatchJob) -> None:
    table = batch.read_table(bytes(job.input_csv), max_rows=settings.BATCH_MAX_ROWS)
    unit = unit_for(user=job.user)
    outcome = _BatchOutcome(writer=batch.ResultWriter(table.columns))
    rows_done = 0
    for chunk in _chunks(batch.parse_rows(table), BATCH_CHUNK_ROWS):
        _predict_chunk(chunk, outcome, unit=unit)
        rows_done += len(chunk)
        still_running = job_progress(
            job=job,
            stage=BATCH_STAGE_PREDICTING,
            percent=_percent_done(rows_done, table.row_count),
            fields={
                "rows_done": rows_done,
                "predicted_count": outcome.predicted_count,
                "error_count": outcome.error_count,
            },
        )
        if not still_running:
            logger.warning("batch job stopped: no longer running", extra={"job_id": job.pk})
            return
    succeeded = job_succeed(
        job=job,
        fields={
            "row_count": table.row_count,
            "rows_done": rows_done,
            "predicted_count": outcome.predicted_count,
            "error_count": outcome.error_count,
            "row_errors": outcome.row_errors,
            "unrecognised_titles": outcome.unrecognised_titles(),
            "result_csv": outcome.writer.getvalue(),
            "model_version_id": outcome.model_version_id,
        },
    )
    if not succeeded:
        logger.warning("batch job finished but was no longer running", extra={"job_id": job.pk})
        return
    logger.info(
        "batch job succeeded",
        extra={
            "job_id": job.pk,
            "rows": table.row_count,
            "predicted": outcome.predicted_count,
            "errors": outcome.error_count,
        },
    )


# --- Experiment exposures and shadow scoring -------------------------------------------------
# Sent after predictions answered inside an experiment; predictions.tasks registers it.
EXPOSURE_TASK = "predictions.prediction_exposures_record_task"
EXPOSURE_BATCH = 500
EXPOSURE_DRAIN_LIMIT = 20 * EXPOSURE_BATCH  # what one message records at most


class _ExposureSender:
    """Sends at most one "record the exposures" message per process per interval.

    Each message makes the worker record every pending exposure in bulk, so a burst of
    predictions costs one message and one bulk write, not one of each per answer: the worker
    shares the machine's cores with the web processes. The message is delayed by twice the
    interval, so the predictions of its window are committed when it runs. After the broker
    refused a message nothing is sent for ``EXPOSURE_BROKER_BACKOFF_SECONDS`` (a request never
    waits on a dead broker); the reconciliation sweep records what was left.
    """

    def __init__(self) -> None:
        self.next_send = 0.0
        self.open_until = 0.0

    def send_if_due(self) -> None:
        now = time.monotonic()
        if now < self.next_send:  # first: most answers take this exit, and it reads no setting
            return  # the message already sent for this window will record this one too
        if now < self.open_until:
            metrics.EXPOSURES_NOT_SENT.inc()
            return
        interval = float(settings.EXPOSURE_SEND_INTERVAL_SECONDS)
        if celery_app.conf.task_always_eager:
            interval = 0.0  # no broker: the task runs here, now, for this prediction
        self.next_send = now + interval
        enqueue_on_commit(EXPOSURE_TASK, kwargs={}, countdown=2 * interval, on_refused=self.trip)

    def trip(self) -> None:
        self.open_until = time.monotonic() + float(settings.EXPOSURE_BROKER_BACKOFF_SECONDS)
        self.next_send = 0.0
        metrics.EXPOSURES_NOT_SENT.inc()
        logger.warning(
            "the broker refused an exposure message; not sending any for %ss (the "
            "reconciliation sweep records them)",
            settings.EXPOSURE_BROKER_BACKOFF_SECONDS,
        )


_sender = _ExposureSender()


def _send_exposures() -> None:
    try:
        _sender.send_if_due()
    except Exception:  # an eager-mode task error must not lose an answered prediction
        logger.exception("recording exposures failed; the reconciliation sweep retries them")


def exposure_enqueue(*, prediction_id: int) -> None:
    """Once this prediction is committed, make sure a worker will record its exposure (and a
    rolled-back one, such as the start-up warm-up's, sends nothing)."""
    transaction.on_commit(_send_exposures)


_CLAIMED_FIELDS = (
    "id",
    "user_id",
    "inputs",
    "experiment_id",
    "experiment_phase",
    "experiment_slot",
    "arm_id",
    "model_version_id",
    "created_at",
)
_SHADOW_COLUMNS = (
    "prediction_id",
    "arm_id",
    "model_version_id",
    "estimate_usd",
    "interval_low_usd",
    "interval_high_usd",
    "latency_ms",
    "created_at",
)


def _shadow_rows(predictions: Sequence) -> list[tuple]:
    """Each shadow arm's answers to the stored inputs (``_SHADOW_COLUMNS`` rows), one
    vectorised call per arm.

    A shadow version that cannot answer (refused artifact, a failing predictor) or stored
    inputs today's rules reject lose only their own shadow answers, logged and counted: the
    exposures are recorded regardless, so one bad row or arm cannot hold up the queue behind it.
    """
    from mlmodel.core.profile import ProfileError, parse_profile
    from mlmodel.loading import ModelUnavailable
    from mlmodel.models import ArmRole, ExperimentArm

    by_experiment: dict[int, list] = {}
    for prediction in predictions:
        by_experiment.setdefault(prediction.experiment_id, []).append(prediction)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows: list[tuple] = []
    for experiment_id, stored in by_experiment.items():
        arms = ExperimentArm.objects.filter(
            experiment_id=experiment_id, role=ArmRole.SHADOW
        ).values_list("id", "model_version_id")
        if not arms:
            continue
        served, profiles = [], []
        for prediction in stored:
            try:
                profiles.append(parse_profile(prediction.inputs))
            except ProfileError:
                logger.warning("prediction %s: stored inputs no longer valid", prediction.id)
                continue
            served.append(prediction)
        if not served:
            continue
        for arm_id, model_version_id in arms:
            started = time.perf_counter()
            try:
                _version, answers = mlmodel_services.predict_many(
                    profiles, version_id=model_version_id
                )
            except (ServiceError, ModelUnavailable) as exc:
                logger.exception("shadow v%s failed to answer", model_version_id)
                mlmodel_services.serving_error_record(
                    model_version_id=model_version_id, arm_id=arm_id, kind=type(exc).__name__
                )
                continue
            latency_ms = (time.perf_counter() - started) * MILLISECONDS / max(len(served), 1)
            rows.extend(
                (
                    prediction.id,
                    arm_id,
                    model_version_id,
                    answer["estimate_usd"],
                    answer["interval_low_usd"],
                    answer["interval_high_usd"],
                    latency_ms,
                    now,
                )
                for prediction, answer in zip(served, answers, strict=True)
            )
    return rows


def _shadow_rows_store(rows: list[tuple]) -> None:
    """Store shadow answers; rows the database refuses (an arm deleted meanwhile) are logged
    and dropped, in a savepoint, so the batch's exposures are still recorded."""
    try:
        with transaction.atomic():
            insert_rows(
                ShadowPrediction,
                _SHADOW_COLUMNS,
                rows,
                conflict_target=("prediction_id", "model_version_id"),
            )
    except (IntegrityError, DataError):
        logger.exception("%s shadow answers could not be stored; they are dropped", len(rows))


@dataclass(frozen=True)
class ExposureBatch:
    """One claimed batch: queue rows taken, and how many of them were predictions still there."""

    claimed: int
    recorded: int


def prediction_exposures_record(
    *,
    limit: int | None = None,
    older_than_seconds: float = 0.0,
    prediction_ids: Sequence[int] | None = None,
) -> int:
    """Record the assignments behind pending predictions and their shadow answers, in bulk.

    One transaction claims up to ``limit`` rows of the exposure queue (``FOR UPDATE SKIP
    LOCKED``, so two workers never take the same ones) and deletes them, upserts one
    assignment per unit with its exposure count and stores the shadow answers: a redelivered
    message, a second worker and the reconciliation sweep can neither count an exposure twice
    nor lose one. Returns how many predictions were recorded.
    """
    return _exposure_batch_record(
        limit=limit, older_than_seconds=older_than_seconds, prediction_ids=prediction_ids
    ).recorded


def _exposure_batch_record(
    *,
    limit: int | None,
    older_than_seconds: float,
    prediction_ids: Sequence[int] | None = None,
) -> ExposureBatch:
    from mlmodel.rollout.services import Exposure, assignments_record

    limit = EXPOSURE_BATCH if limit is None else limit
    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    with transaction.atomic():
        pending = PendingExposure.objects.filter(created_at__lte=cutoff)
        if prediction_ids is not None:
            pending = pending.filter(pk__in=list(prediction_ids))
        claimed_ids = list(
            pending.select_for_update(skip_locked=True)
            .order_by("prediction_id")
            .values_list("prediction_id", flat=True)[:limit]
        )
        if not claimed_ids:
            return ExposureBatch(claimed=0, recorded=0)
        PendingExposure.objects.filter(pk__in=claimed_ids).delete()
        claimed = list(
            Prediction.objects.filter(pk__in=claimed_ids)
            .order_by("id")
            .values_list(*_CLAIMED_FIELDS, named=True)
        )
        # Scored before the upsert: the assignment rows stay locked only for the write.
        shadow_rows = _shadow_rows(claimed)
        assignments_record(
            exposures=[
                Exposure(
                    experiment_id=p.experiment_id,
                    phase=p.experiment_phase,
                    unit=f"{UNIT_PREFIX}{p.user_id}",
                    slot=p.experiment_slot,
                    arm_id=p.arm_id,
                    model_version_id=p.model_version_id,
                    at=p.created_at,
                )
                for p in claimed
            ]
        )
        _shadow_rows_store(shadow_rows)
    return ExposureBatch(claimed=len(claimed_ids), recorded=len(claimed))


def prediction_record_exposure(*, prediction_id: int) -> bool:
    """Record one prediction's exposure (False when it was recorded already)."""
    return prediction_exposures_record(prediction_ids=[prediction_id]) == 1


def prediction_exposures_drain(
    *, older_than_seconds: float = 0.0, limit: int = EXPOSURE_DRAIN_LIMIT
) -> int:
    """Record pending exposures batch after batch, up to ``limit``; returns how many.

    One message per web process per send interval: when a burst leaves more pending than one
    batch, the message records them all rather than leaving the rest to the sweep."""
    total = 0
    while total < limit:
        batch_limit = min(EXPOSURE_BATCH, limit - total)
        batch = _exposure_batch_record(limit=batch_limit, older_than_seconds=older_than_seconds)
        total += batch.recorded
        # A queue row whose prediction was deleted counts as taken: the queue is not empty yet.
        if batch.claimed < batch_limit:
            break
    return total


def prediction_exposures_reconcile(*, older_than_seconds: float, limit: int) -> int:
    """Record exposures no message recorded (broker or worker down); returns how many."""
    total = prediction_exposures_drain(older_than_seconds=older_than_seconds, limit=limit)
    if total:
        logger.info("reconciliation recorded %s missing exposures", total)
    return total
