"""An unreachable Redis under a rate-limited HTML form is a clear 503 page, not a 500."""

import pytest

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CLOSED_PORT_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    return settings


@pytest.fixture
def _isolated_cache():
    """This module breaks the cache on purpose: skip the shared clearing fixture."""
    yield


@pytest.mark.django_db
def test_login_post_with_redis_down_is_a_503_page(client, user, password, redis_down):
    # when a rate-limited form is posted while the cache is unreachable
    response = client.post("/accounts/login/", {"username": user.username, "password": password})

    # then the user sees a 503 page saying to retry, with Retry-After
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"Temporarily unavailable" in response.content
