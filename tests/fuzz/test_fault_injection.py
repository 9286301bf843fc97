"""Fault injection against real components: a dependency fails, the API still answers clearly.

Each fault is real, not mocked: a Redis nobody listens on, artifact bytes flipped in the
database, a broker on a closed port. The answer is either the work done anyway (predictions
through a cache outage, limited per process) or the API's JSON error shape with an honest
status, never a 500, and nothing the client sent is half-written or lost.
"""

import pytest

from mlmodel.loading import reset_registry
from mlmodel.models import ModelVersion
from predictions.models import BatchJob, JobStatus, Prediction
from tests.predictions.conftest import GOOD_ROW, PROFILE_DATA, UNREACHABLE_REDIS_URL, csv_bytes

PREDICTIONS_URL = "/api/v1/predictions/"
BATCH_URL = "/api/v1/predictions/batch/"
TOKEN_URL = "/api/v1/auth/token/"
UNREACHABLE_CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": UNREACHABLE_REDIS_URL,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
}
SYNC_LIMIT_FOR_TEST = 2
FALLBACK_TEST_RATE = "3/m"
FALLBACK_TEST_LIMIT = 3
FLIPPED_BYTES = 64
LARGE_BATCH_ROWS = 5


def _flip_bytes(data: bytes) -> bytes:
    """Invert a run of bytes in the middle, as a bad disk or a truncated copy would."""
    middle = len(data) // 2
    flipped = bytes(byte ^ 0xFF for byte in data[middle : middle + FLIPPED_BYTES])
    return data[:middle] + flipped + data[middle + FLIPPED_BYTES :]


def _errors(response) -> dict:
    assert response["Content-Type"] == "application/json", response.content[:300]
    body = response.json()
    assert set(body) == {"errors"}, body
    return body["errors"]


@pytest.mark.django_db
def test_prediction_with_the_cache_down_is_answered_and_still_limited(
    api_client, settings, active_model_version
):
    # given the cache holding the rate-limit counters is unreachable, and a tight rate
    settings.CACHES = UNREACHABLE_CACHES
    settings.RATELIMIT_PREDICT = FALLBACK_TEST_RATE

    # when more predictions are asked for than the rate allows
    answers = [
        api_client.post(PREDICTIONS_URL, PROFILE_DATA, format="json")
        for _ in range(FALLBACK_TEST_LIMIT + 1)
    ]

    # then the per-process fallback answers them at the same rate: never unlimited
    assert [response.status_code for response in answers] == [201] * FALLBACK_TEST_LIMIT + [429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert "Too many requests" in _errors(answers[-1])["detail"][0]
    assert Prediction.objects.count() == FALLBACK_TEST_LIMIT


@pytest.mark.django_db
def test_token_with_the_cache_down_is_a_clear_503(client, settings, user, password):
    # given the cache holding the rate-limit counters is unreachable
    settings.CACHES = UNREACHABLE_CACHES

    # when a token is asked for
    response = client.post(
        TOKEN_URL,
        {"username": user.username, "password": password, "name": "outage"},
        content_type="application/json",
    )

    # then the token door fails closed: a 503 that says why
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "unavailable" in _errors(response)["detail"][0]


@pytest.mark.redis
@pytest.mark.django_db
def test_predictions_resume_when_the_real_redis_is_back(api_client, settings, active_model_version):
    # given a prediction answered with the real Redis, then one during an outage (fallback)
    real_caches = settings.CACHES
    assert api_client.post(PREDICTIONS_URL, PROFILE_DATA, format="json").status_code == 201
    settings.CACHES = UNREACHABLE_CACHES
    assert api_client.post(PREDICTIONS_URL, PROFILE_DATA, format="json").status_code == 201

    # when Redis is reachable again
    settings.CACHES = real_caches
    response = api_client.post(PREDICTIONS_URL, PROFILE_DATA, format="json")

    # then
    assert response.status_code == 201
    assert Prediction.objects.count() == 3


@pytest.mark.django_db
def test_corrupt_active_model_is_a_503_naming_the_model_and_stores_nothing(
    api_client, active_model_version, caplog
):
    # given the only active version's artifact bytes are corrupted in the database
    versions = ModelVersion.objects.filter(pk=active_model_version.pk)
    stored = bytes(versions.values_list("artifact", flat=True).get())
    versions.update(artifact=_flip_bytes(stored))
    reset_registry()

    # when
    response = api_client.post(PREDICTIONS_URL, PROFILE_DATA, format="json")

    # then the client learns no model can answer; operators learn which one and why
    assert response.status_code == 503
    assert "model" in _errors(response)["detail"][0].lower()
    assert not Prediction.objects.exists()
    assert f"refusing model v{active_model_version.version}" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_large_batch_with_the_broker_down_is_a_503_and_the_job_is_kept_failed(
    api_client, settings, active_model_version, unreachable_broker
):
    # given a file over the synchronous limit, so it must go through the broker
    settings.BATCH_SYNC_MAX_ROWS = SYNC_LIMIT_FOR_TEST
    upload = csv_bytes([GOOD_ROW] * LARGE_BATCH_ROWS)

    # when
    response = api_client.generic("POST", BATCH_URL, upload, content_type="text/csv")

    # then the client is told it was not queued, and the job says the same, with its file
    assert response.status_code == 503
    message = _errors(response)["detail"][0]
    assert "could not be queued" in message
    job = BatchJob.objects.get()
    assert (job.status, job.message) == (JobStatus.FAILED, message)
    assert bytes(job.input_csv) == upload
    assert job.finished_at is not None
    listed = api_client.get(BATCH_URL).json()["results"]
    assert [(item["id"], item["status"]) for item in listed] == [(job.pk, "failed")]
