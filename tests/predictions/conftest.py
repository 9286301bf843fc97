"""Fixtures for predictions and feedback tests (the model comes from ``active_model_version``)."""

import dataclasses

import pytest

from mlmodel.core.profile import EXAMPLE_PROFILE, PROFILE_FIELDS
from predictions.models import Channel
from predictions.services import prediction_create

PROFILE = EXAMPLE_PROFILE
PROFILE_DATA = PROFILE.as_dict()
GOOD_ROW = "Data Scientist,SE,FT,US,US,0,M,2024"


@pytest.fixture
def make_prediction(active_model_version):
    """``make_prediction(user, **profile_overrides)`` answers and stores one prediction."""

    def make(user, *, channel=Channel.WEB, api_token=None, **overrides):
        profile = dataclasses.replace(PROFILE, **overrides)
        return prediction_create(user=user, profile=profile, channel=channel, api_token=api_token)

    return make


def csv_bytes(rows: list[str], *, header: str | None = None) -> bytes:
    lines = [header if header is not None else ",".join(PROFILE_FIELDS), *rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


# Nothing listens on port 1: connections are refused at once, like a Redis that is down.
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"


def _drop_broker_connections(app) -> None:
    """Forget pooled connections, so the next publish connects to the broker configured now.

    ``app.close()`` keeps the producer pool an eager run created (bound to the old broker URL).
    """
    app.close()
    app.amqp._producer_pool = None


@pytest.fixture
def unreachable_broker():
    """Celery publishes (not eagerly) to a broker on a closed port for this test."""
    from portal.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager)
    _drop_broker_connections(app)
    app.conf.broker_url = UNREACHABLE_REDIS_URL
    app.conf.task_always_eager = False
    try:
        yield UNREACHABLE_REDIS_URL
    finally:
        _drop_broker_connections(app)
        app.conf.broker_url, app.conf.task_always_eager = saved
