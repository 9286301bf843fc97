"""Fixtures for fuzzing the API in-process: a real token, real objects, lifted rate limits."""

import dataclasses

import pytest

from feedback.models import Rating
from feedback.services import feedback_upsert
from predictions.models import BatchJob, Channel, JobStatus
from predictions.services import batch_job_create, prediction_create
from tests.predictions.conftest import (  # noqa: F401 - unreachable_broker is a fixture
    GOOD_ROW,
    PROFILE,
    csv_bytes,
    unreachable_broker,
)

LIFTED_RATE = "100000/m"
# The rate-limit groups the API uses (token exchange, predictions, batch files, feedback).
RATE_SETTINGS = ("RATELIMIT_TOKEN", "RATELIMIT_PREDICT", "RATELIMIT_BATCH", "RATELIMIT_FEEDBACK")


@pytest.fixture(autouse=True)
def lifted_rate_limits(settings):
    """Fuzzing sends hundreds of requests a minute; a 429 would hide everything after it."""
    for name in RATE_SETTINGS:
        setattr(settings, name, LIFTED_RATE)


@pytest.fixture
def api_auth_headers(api_token_key) -> dict[str, str]:
    return {"Authorization": f"Token {api_token_key}"}


@dataclasses.dataclass(frozen=True)
class FuzzObjects:
    """Ids the fuzzer's generated path ids are mapped onto: own ones first, then another's."""

    prediction_ids: tuple[int, ...]
    job_ids: tuple[int, ...]


@pytest.fixture
def fuzz_objects(user, other_user, active_model_version) -> FuzzObjects:
    """Predictions (one with feedback), a finished and a pending job, and someone else's."""
    mine = prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    with_feedback = prediction_create(
        user=user,
        profile=dataclasses.replace(PROFILE, experience_level="EN"),
        channel=Channel.WEB,
    )
    feedback_upsert(
        user=user,
        prediction_id=with_feedback.pk,
        actual_salary_usd=None,
        rating=Rating.ABOUT_RIGHT,
        comment="close enough",
    )
    theirs = prediction_create(user=other_user, profile=PROFILE, channel=Channel.API)
    finished = batch_job_create(user=user, file_name="two.csv", data=csv_bytes([GOOD_ROW] * 2))
    pending = BatchJob.objects.create(
        user=user,
        status=JobStatus.PENDING,
        file_name="queued.csv",
        input_csv=csv_bytes([GOOD_ROW]),
        row_count=1,
    )
    their_job = batch_job_create(user=other_user, file_name="x.csv", data=csv_bytes([GOOD_ROW]))
    return FuzzObjects(
        prediction_ids=(mine.pk, with_feedback.pk, theirs.pk),
        job_ids=(finished.pk, pending.pk, their_job.pk),
    )
