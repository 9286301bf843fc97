"""Prediction and batch services against the real model, database and (eager) Celery."""

import csv
import io
from dataclasses import replace

import pytest
from django.db import DatabaseError
from django.test import override_settings

from mlmodel.models import ModelStatus, ModelVersion
from portal.exceptions import InvalidInput, PayloadTooLarge, ServiceError, Unavailable
from portal.jobs.services import job_fail
from predictions import services
from predictions.models import BatchJob, Channel, JobStatus, Prediction
from tests.concurrency import run_at_once
from tests.predictions.conftest import GOOD_ROW, PROFILE, csv_bytes

pytestmark = pytest.mark.django_db


def _result_rows(job: BatchJob) -> list[dict[str, str]]:
    job.refresh_from_db()
    return list(csv.DictReader(io.StringIO(bytes(job.result_csv).decode("utf-8"))))


def test_prediction_create_stores_what_the_model_answered(user, active_model_version):
    # when
    prediction = services.prediction_create(
        user=user, profile=PROFILE, channel=Channel.WEB, request_id="req-1234567890"
    )

    # then the stored row is the answer, with the version and a measured latency
    stored = Prediction.objects.get(pk=prediction.pk)
    assert stored.user == user
    assert stored.inputs == PROFILE.as_dict()
    assert stored.model_version == active_model_version
    assert stored.interval_low_usd <= stored.estimate_usd <= stored.interval_high_usd
    assert stored.interval_level == pytest.approx(0.9)
    assert stored.latency_ms > 0
    assert stored.request_id == "req-1234567890"
    features = [item["feature"] for item in stored.contributions]
    assert set(features) <= set(PROFILE.as_dict())
    sizes = [abs(item["usd"]) for item in stored.contributions]
    assert sizes == sorted(sizes, reverse=True)


def test_prediction_create_without_an_active_model_is_a_503_and_stores_nothing(user, db):
    # given no model version at all
    assert not ModelVersion.objects.filter(status=ModelStatus.ACTIVE).exists()

    # when / then
    with pytest.raises(Unavailable):
        services.prediction_create(user=user, profile=PROFILE, channel=Channel.WEB)
    assert Prediction.objects.count() == 0


def test_the_experiment_unit_is_the_user_whatever_the_channel(user):
    assert services.unit_for(user=user) == f"user:{user.pk}"


def test_small_batch_is_answered_at_once_and_stored_as_a_job(user, active_model_version):
    # given two good rows around a bad one
    data = csv_bytes([GOOD_ROW, "Data Scientist,SE,FT,XX,US,33,M,1900", GOOD_ROW])

    # when
    job = services.batch_job_create(user=user, file_name="../team/salaries.csv", data=data)

    # then
    assert job.status == JobStatus.SUCCEEDED
    assert job.file_name == "salaries.csv"
    assert (job.row_count, job.rows_done, job.predicted_count, job.error_count) == (3, 3, 2, 1)
    assert job.row_errors == [
        {"line": 3, "errors": job.row_errors[0]["errors"]},
    ]
    assert set(job.row_errors[0]["errors"]) == {"company_location", "remote_ratio", "work_year"}
    assert job.model_version == active_model_version
    assert bytes(job.input_csv) == data
    assert job.progress_percent == 100
    rows = _result_rows(job)
    assert [row["line"] for row in rows] == ["2", "3", "4"]
    assert rows[0]["model_version"] == str(active_model_version.version)
    assert rows[1]["estimate_usd"] == ""
    assert rows[1]["error"].startswith("Line 3:")
    # no per-row writes: a batch never creates Prediction rows
    assert Prediction.objects.count() == 0


def test_batch_estimates_match_single_predictions(user, active_model_version):
    # given
    single = services.prediction_create(user=user, profile=PROFILE, channel=Channel.WEB)

    # when
    job = services.batch_job_create(user=user, file_name="a.csv", data=csv_bytes([GOOD_ROW]))

    # then
    (row,) = _result_rows(job)
    assert int(row["estimate_usd"]) == single.estimate_usd
    assert int(row["interval_low_usd"]) == single.interval_low_usd
    assert int(row["interval_high_usd"]) == single.interval_high_usd


@pytest.mark.parametrize(
    "data",
    [
        b"",
        csv_bytes([], header="job_title,salary"),
        b"\xff\xfe" + "job_title".encode("utf-16-le"),
    ],
)
def test_unusable_files_are_refused_whole(user, active_model_version, data):
    # when / then
    with pytest.raises(InvalidInput) as caught:
        services.batch_job_create(user=user, file_name="bad.csv", data=data)
    assert "file" in caught.value.errors
    assert BatchJob.objects.count() == 0


@override_settings(BATCH_UPLOAD_MAX_BYTES=100)
def test_files_over_the_byte_limit_are_413(user, active_model_version):
    with pytest.raises(PayloadTooLarge):
        services.batch_job_create(user=user, file_name="big.csv", data=csv_bytes([GOOD_ROW] * 10))


@override_settings(BATCH_MAX_ROWS=3, BATCH_SYNC_MAX_ROWS=2)
def test_files_over_the_row_limit_are_413(user, active_model_version):
    with pytest.raises(PayloadTooLarge):
        services.batch_job_create(user=user, file_name="big.csv", data=csv_bytes([GOOD_ROW] * 4))


@override_settings(BATCH_SYNC_MAX_ROWS=5)
def test_large_batch_is_queued_then_run_in_chunks_eagerly(
    user, active_model_version, django_capture_on_commit_callbacks, monkeypatch
):
    # given a file over the synchronous limit, processed in chunks of 4 rows
    monkeypatch.setattr(services, "BATCH_CHUNK_ROWS", 4)
    rows = [GOOD_ROW] * 9 + ["Data Scientist,SE,FT,US,US,0,M,1900"]

    # when the job is created, and its transaction commits (eager Celery runs the task)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = services.batch_job_create(user=user, file_name="big.csv", data=csv_bytes(rows))
        assert job.status == JobStatus.PENDING

    # then
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert (job.row_count, job.rows_done, job.predicted_count, job.error_count) == (10, 10, 9, 1)
    assert job.row_errors[0]["line"] == 11
    assert job.started_at <= job.heartbeat_at <= job.finished_at
    assert job.progress_percent == 100
    assert job.celery_task_id
    assert job.model_version == active_model_version
    assert len(_result_rows(job)) == 10


def _watch_chunks(monkeypatch, on_chunk=None) -> list[tuple]:
    """Record the stored job before each chunk is predicted (the real prediction still runs)."""
    seen: list[tuple] = []
    predict_chunk = services._predict_chunk

    def watched(chunk, outcome, *, unit):
        job = BatchJob.objects.get()
        seen.append((job.status, job.stage, job.rows_done, job.progress_percent, job.heartbeat_at))
        if on_chunk is not None:
            on_chunk(len(seen), job)
        predict_chunk(chunk, outcome, unit=unit)

    monkeypatch.setattr(services, "_predict_chunk", watched)
    return seen


@override_settings(BATCH_SYNC_MAX_ROWS=5)
def test_a_running_batch_saves_its_progress_and_a_heartbeat_after_each_chunk(
    user, active_model_version, django_capture_on_commit_callbacks, monkeypatch
):
    # given a 10-row job run in chunks of 4, watched before each chunk
    monkeypatch.setattr(services, "BATCH_CHUNK_ROWS", 4)
    seen = _watch_chunks(monkeypatch)

    # when it is queued and run (eagerly, at commit)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.batch_job_create(
            user=user, file_name="big.csv", data=csv_bytes([GOOD_ROW] * 10)
        )

    # then each chunk found the previous one's rows, percent and a newer heartbeat stored
    running, stage = JobStatus.RUNNING, services.BATCH_STAGE_PREDICTING
    assert [row[:4] for row in seen] == [
        (running, stage, 0, 0),
        (running, stage, 4, 40),
        (running, stage, 8, 80),
    ]
    heartbeats = [row[4] for row in seen]
    assert None not in heartbeats
    assert heartbeats == sorted(heartbeats)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.progress_percent) == (JobStatus.SUCCEEDED, 10, 100)
    assert job.heartbeat_at >= heartbeats[-1]


@override_settings(BATCH_SYNC_MAX_ROWS=5)
def test_a_batch_failed_by_the_sweep_mid_run_stops_and_stays_failed(
    user, active_model_version, django_capture_on_commit_callbacks, monkeypatch
):
    # given a job that the sweep fails while its second chunk is being predicted
    monkeypatch.setattr(services, "BATCH_CHUNK_ROWS", 4)

    def sweep_on_second_chunk(chunk_number: int, job: BatchJob) -> None:
        if chunk_number == 2:
            job_fail(job=job, message=BatchJob.stale_message)

    seen = _watch_chunks(monkeypatch, on_chunk=sweep_on_second_chunk)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        job = services.batch_job_create(
            user=user, file_name="big.csv", data=csv_bytes([GOOD_ROW] * 10)
        )

    # then the worker stopped after that chunk instead of finishing over the sweep's verdict
    assert len(seen) == 2
    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.FAILED, BatchJob.stale_message)
    assert (job.rows_done, job.progress_percent, job.result_csv) == (4, 40, None)


def test_a_finished_job_is_not_run_again(user, active_model_version):
    # given a job that already succeeded
    job = services.batch_job_create(user=user, file_name="a.csv", data=csv_bytes([GOOD_ROW]))
    finished_at = job.finished_at

    # when its task is delivered again
    services.batch_job_run(job_id=job.pk)

    # then
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.finished_at == finished_at


def test_a_job_that_cannot_run_is_marked_failed_with_a_message(user, active_model_version):
    # given a queued job whose stored file is not CSV text
    job = BatchJob.objects.create(
        user=user, file_name="x.csv", input_csv=b"\xff\xfe\x00", row_count=1
    )

    # when
    services.batch_job_run(job_id=job.pk)

    # then
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "not UTF-8" in job.message
    assert job.finished_at is not None


def test_a_job_without_a_model_fails_with_a_readable_message(user, db):
    # given a queued job and no active model
    job = BatchJob.objects.create(
        user=user, file_name="x.csv", input_csv=csv_bytes([GOOD_ROW]), row_count=1
    )

    # when
    services.batch_job_run(job_id=job.pk)

    # then
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "No model is active" in job.message


def test_a_prediction_that_cannot_be_stored_is_not_shown(user, active_model_version, monkeypatch):
    # given a database that refuses the write (simulated: a real outage cannot be staged here)
    def refuse(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(services, "_store_prediction", refuse)

    # when / then the caller gets an error, not an estimate
    with pytest.raises(Unavailable):
        services.prediction_create(user=user, profile=PROFILE, channel=Channel.WEB)
    assert Prediction.objects.count() == 0


def test_a_file_with_nul_bytes_is_refused(user, active_model_version):
    data = csv_bytes([GOOD_ROW.replace("US", "U\x00S", 1)])
    with pytest.raises(ServiceError) as caught:
        services.batch_job_create(user=user, file_name="x.csv", data=data)
    assert "NUL" in caught.value.errors["file"][0]


@override_settings(BATCH_SYNC_MAX_ROWS=2)
@pytest.mark.django_db(transaction=True)
def test_large_batch_with_the_broker_down_is_a_503_and_the_job_is_kept(
    user, active_model_version, unreachable_broker
):
    # given a file that must be queued, and no broker
    data = csv_bytes([GOOD_ROW] * 3)

    # when
    with pytest.raises(Unavailable) as caught:
        services.batch_job_create(user=user, file_name="big.csv", data=data)

    # then the caller hears it was not queued; the job says the same and keeps its file
    job = BatchJob.objects.get()
    assert job.status == JobStatus.FAILED
    assert job.message == services.JOB_QUEUE_FAILED_MESSAGE == caught.value.errors["detail"][0]
    assert bytes(job.input_csv) == data


@override_settings(BATCH_SYNC_MAX_ROWS=2)
def test_inside_a_transaction_a_refused_job_is_marked_failed_at_commit(
    user, active_model_version, unreachable_broker, django_capture_on_commit_callbacks
):
    # when the job is created inside an outer transaction, which then commits
    with django_capture_on_commit_callbacks(execute=True):
        job = services.batch_job_create(
            user=user, file_name="big.csv", data=csv_bytes([GOOD_ROW] * 3)
        )
        assert job.status == JobStatus.PENDING

    # then the refusal is recorded on the job
    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.FAILED, services.JOB_QUEUE_FAILED_MESSAGE)


# --- a form sent twice creates one object (portal/submissions.py) ---
SUBMISSION = "0123456789abcdef0123456789abcdef"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_posts_of_one_form_store_one_prediction(user, active_model_version):
    # given two requests carrying the same form id, let go at the same instant
    results: list[services.Submitted] = []

    def post() -> None:
        results.append(
            services.prediction_create_once(user=user, profile=PROFILE, submission=SUBMISSION)
        )

    # when
    run_at_once(post)

    # then one row; both answers name it, one of them as created
    stored = Prediction.objects.get()
    assert sorted(result.created for result in results) == [False, True]
    assert {result.object.pk for result in results} == {stored.pk}
    assert stored.submission and stored.submission != SUBMISSION  # the id with what was sent


def test_a_batch_sent_twice_is_one_job_and_api_rows_carry_no_id(user, active_model_version):
    # given
    data = csv_bytes([GOOD_ROW])

    # when the same upload form arrives twice, and two API files without an id
    first = services.batch_job_create_once(
        user=user, file_name="a.csv", data=data, submission=SUBMISSION
    )
    again = services.batch_job_create_once(
        user=user, file_name="a.csv", data=data, submission=SUBMISSION
    )
    api_jobs = [services.batch_job_create(user=user, file_name="b.csv", data=data) for _ in "xy"]

    # then
    assert (first.created, again.created) == (True, False)
    assert again.object.pk == first.object.pk
    assert BatchJob.objects.count() == 3
    assert [job.submission for job in api_jobs] == ["", ""]


def test_a_batch_job_lists_the_titles_it_did_not_recognise(user, active_model_version):
    # given a file with a known title twice and a nonsense one twice
    nonsense = "Banana Sommelier,SE,FT,US,US,0,M,2024"
    data = csv_bytes([GOOD_ROW, nonsense, GOOD_ROW, nonsense])

    # when
    job = services.batch_job_create(user=user, file_name="titles.csv", data=data)

    # then only the nonsense title is listed, with what it was read as and how often
    assert job.unrecognised_titles == [
        {
            "title": "Banana Sommelier",
            "match": "unknown",
            "treated_as": "any job title (overall average)",
            "rows": 2,
        }
    ]


def test_the_same_form_sent_with_other_values_is_a_new_prediction(user, active_model_version):
    # when one page's form is sent, then sent again after a field was changed
    first = services.prediction_create_once(user=user, profile=PROFILE, submission=SUBMISSION)
    changed = services.prediction_create_once(
        user=user, profile=replace(PROFILE, remote_ratio=100), submission=SUBMISSION
    )
    again = services.prediction_create_once(user=user, profile=PROFILE, submission=SUBMISSION)

    # then two predictions: the changed form is answered anew, the repeat finds the first
    assert (first.created, changed.created, again.created) == (True, True, False)
    assert again.object.pk == first.object.pk != changed.object.pk
    assert changed.object.inputs["remote_ratio"] == 100


@override_settings(BATCH_SYNC_MAX_ROWS=2)
@pytest.mark.django_db(transaction=True)
def test_an_upload_refused_by_the_broker_can_be_sent_again(
    user, active_model_version, unreachable_broker
):
    # given an upload the broker refused
    data = csv_bytes([GOOD_ROW] * 3)
    with pytest.raises(Unavailable):
        services.batch_job_create_once(
            user=user, file_name="big.csv", data=data, submission=SUBMISSION
        )

    # when the same form is sent again (the page still holds its id)
    with pytest.raises(Unavailable):
        services.batch_job_create_once(
            user=user, file_name="big.csv", data=data, submission=SUBMISSION
        )

    # then it was tried again (two failed jobs, each saying why), not answered with the first
    jobs = list(BatchJob.objects.order_by("id"))
    assert [job.status for job in jobs] == [JobStatus.FAILED, JobStatus.FAILED]
    assert {job.submission for job in jobs} == {""}
