"""Feedback tests reuse the prediction fixtures (a stored prediction needs a served model)."""

import pytest

from tests.predictions.conftest import make_prediction  # noqa: F401


@pytest.fixture
def prediction(user, make_prediction):  # noqa: F811
    """A stored prediction of ``user`` (the estimate comes from the real model)."""
    return make_prediction(user)
