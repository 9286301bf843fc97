"""Our libxgboost binding gives bit-identical numbers to the xgboost Python package.

Serving walks the trees through ``mlmodel.core.booster`` (so web processes never import
scikit-learn, SciPy or pandas); training and this test use the package itself.
"""

import numpy as np
import pytest
import xgboost as xgb

from mlmodel.core.booster import Booster, BoosterError, DenseMatrix

N_FEATURES = 6
TRAIN_ROWS = 400
CHECK_ROWS = 300


@pytest.fixture(scope="module")
def trained() -> tuple[xgb.Booster, bytes]:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(TRAIN_ROWS, N_FEATURES)).astype(np.float32)
    target = features[:, 0] * 2 - features[:, 1] + rng.normal(scale=0.1, size=TRAIN_ROWS)
    booster = xgb.train(
        {"max_depth": 3, "nthread": 1, "objective": "reg:squarederror"},
        xgb.DMatrix(features, label=target),
        num_boost_round=25,
    )
    return booster, bytes(booster.save_raw("ubj"))


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    rng = np.random.default_rng(11)
    rows = rng.normal(scale=2.0, size=(CHECK_ROWS, N_FEATURES)).astype(np.float32)
    rows[::7, 2] = np.nan  # missing values take the default branch in both
    return rows


def test_values_equal_the_python_package(trained, rows):
    reference, model = trained
    ours = Booster(model, threads=1)
    assert ours.num_features == N_FEATURES
    expected = reference.inplace_predict(rows).reshape(-1, 1)
    assert np.array_equal(ours.predict(rows), expected)
    with DenseMatrix(rows, threads=1) as matrix:
        assert np.array_equal(ours.predict_matrix(matrix), expected)


def test_contributions_equal_the_python_package(trained, rows):
    reference, model = trained
    ours = Booster(model, threads=2)
    expected = reference.predict(xgb.DMatrix(rows), pred_contribs=True, approx_contribs=True)
    with DenseMatrix(rows, threads=2) as matrix:
        assert np.array_equal(ours.predict_matrix(matrix, contributions=True), expected)


def test_one_row_equals_the_batch(trained, rows):
    _, model = trained
    ours = Booster(model, threads=1)
    batch = ours.predict(rows)
    for index in range(0, CHECK_ROWS, 37):
        assert ours.predict(rows[index : index + 1])[0, 0] == batch[index, 0]


def test_a_corrupt_model_is_refused():
    with pytest.raises(BoosterError):
        Booster(b"not a model", threads=1)


def test_wrong_shapes_are_refused(trained):
    _, model = trained
    ours = Booster(model, threads=1)
    with pytest.raises(BoosterError):
        ours.predict(np.zeros(N_FEATURES, dtype=np.float32))
    with pytest.raises(BoosterError):
        ours.predict(np.zeros((2, N_FEATURES + 3), dtype=np.float32))
