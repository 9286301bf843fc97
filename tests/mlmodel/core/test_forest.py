"""The numpy walk of one row gives libxgboost's numbers bit for bit, or refuses to be used."""

import logging
import os

import numpy as np
import pytest
import xgboost as xgb

from mlmodel.core.artifacts import load_predictor, sha256_hex
from mlmodel.core.booster import Booster, BoosterError, DenseMatrix
from mlmodel.core.forest import OneRowForest, UnsupportedForest
from mlmodel.core.predictor import Predictor
from mlmodel.core.profile import PROFILE_FIELDS, parse_profile
from mlmodel.core.train.data import load_csv
from mlmodel.core.train.demo_data import make_demo_dataframe

N_FEATURES = 7
TRAIN_ROWS = 600
CHECK_ROWS = 400
ALPHAS = [0.05, 0.95]


def _features(rng: np.random.Generator, n_rows: int) -> np.ndarray:
    features = rng.normal(size=(n_rows, N_FEATURES)).astype(np.float32)
    features[:, 3] = rng.integers(0, 4, size=n_rows)  # a coded column: ties at the thresholds
    return features


def _train(
    params: dict, rounds: int, *, categorical: bool = False, binary: bool = False
) -> Booster:
    rng = np.random.default_rng(5)
    features = _features(rng, TRAIN_ROWS)
    features[::9, 1] = np.nan  # missing values in training give the splits a default side
    target = features[:, 0] * 2 - np.nan_to_num(features[:, 1]) + features[:, 3] ** 2
    target = target + rng.normal(scale=0.3, size=TRAIN_ROWS)
    if binary:
        target = (target > np.median(target)).astype(np.float32)
    matrix = (
        xgb.DMatrix(
            features,
            label=target,
            feature_types=["q", "q", "q", "c", "q", "q", "q"],
            enable_categorical=True,
        )
        if categorical
        else xgb.DMatrix(features, label=target)
    )
    booster = xgb.train({"nthread": 1, **params}, matrix, num_boost_round=rounds)
    return Booster(bytes(booster.save_raw("ubj")), threads=1)


@pytest.fixture(scope="module")
def point() -> Booster:
    # uneven depths (max_depth 5, pruned by gamma), so rows reach leaves at different steps
    return _train({"max_depth": 5, "gamma": 0.5, "eta": 0.2}, 60)


@pytest.fixture(scope="module")
def quantile() -> Booster:
    return _train({"objective": "reg:quantileerror", "quantile_alpha": ALPHAS, "max_depth": 3}, 40)


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    rows = _features(np.random.default_rng(17), CHECK_ROWS)
    rows[::5, 1] = np.nan
    rows[::11, 0] = np.nan
    rows[7] = np.nan
    return rows


def _libxgboost(point: Booster, quantile: Booster, rows: np.ndarray):
    with DenseMatrix(rows, threads=1) as matrix:
        return (
            point.predict_matrix(matrix),
            quantile.predict_matrix(matrix),
            point.predict_matrix(matrix, contributions=True),
        )


def test_every_output_equals_libxgboost_bit_for_bit(point, quantile, rows):
    # given the walk built from a point and a two-quantile booster
    forest = OneRowForest.build(point, quantile)

    # when each row is walked alone
    walked = [forest.outputs(row) for row in rows]

    # then value, quantiles and every contribution are libxgboost's, NaN rows included
    values, quantiles, contributions = _libxgboost(point, quantile, rows)
    for index, (value, low, high, contribs) in enumerate(walked):
        assert [value] == values[index].tolist(), index
        assert [low, high] == quantiles[index].tolist(), index
        assert contribs == contributions[index].tolist(), index


def test_the_served_model_on_the_real_data(trained_demo_artifact):
    # given the served predictor and every row of the data set, plus jittered copies
    blob, _ = trained_demo_artifact
    predictor = load_predictor(blob, sha256_hex(blob))
    path = os.environ.get("SALARIES_CSV", "")
    frame = load_csv(path) if os.path.exists(path) else make_demo_dataframe(5_000, seed=2)
    rows = predictor.encoder.encode_columns({c: frame[c].tolist() for c in PROFILE_FIELDS})
    jitter = np.random.default_rng(1).normal(scale=0.3, size=rows.shape).astype(np.float32)
    rows = np.vstack([rows, rows + jitter])

    # when the walk and libxgboost score each
    forest = predictor._forest
    assert forest is not None
    point, quantile = predictor._point_single, predictor._quantile_single
    values, quantiles, contributions = _libxgboost(point, quantile, rows)

    # then they agree on every number
    for index, row in enumerate(rows):
        value, low, high, contribs = forest.outputs(row)
        assert (value, low, high) == (values[index, 0], *quantiles[index]), index
        assert contribs == contributions[index].tolist(), index


def test_a_row_of_the_wrong_width_is_refused(point, quantile):
    forest = OneRowForest.build(point, quantile)
    with pytest.raises(ValueError, match="features"):
        forest.outputs(np.zeros(N_FEATURES + 1, dtype=np.float32))


def test_an_infinite_value_is_refused_as_libxgboost_refuses_it(point, quantile):
    forest = OneRowForest.build(point, quantile)
    row = np.zeros((1, N_FEATURES), dtype=np.float32)
    row[0, 2] = np.inf
    with pytest.raises(BoosterError):
        DenseMatrix(row, threads=1)
    with pytest.raises(BoosterError, match="inf"):
        forest.outputs(row)


def test_children_out_of_libxgboosts_layout_are_refused(point, quantile, monkeypatch):
    # libxgboost reads a split's right child as left + 1, whatever right_children says
    document = point.model_json()
    tree = document["learner"]["gradient_booster"]["model"]["trees"][0]
    split = next(n for n, left in enumerate(tree["left_children"]) if left != -1)
    tree["right_children"][split] += 1
    monkeypatch.setattr(point, "model_json", lambda: document)
    with pytest.raises(UnsupportedForest, match="laid out"):
        OneRowForest.build(point, quantile)


def test_categorical_splits_are_refused(quantile):
    categorical = _train({"max_depth": 3, "max_cat_to_onehot": 1}, 10, categorical=True)
    with pytest.raises(UnsupportedForest, match="categorical"):
        OneRowForest.build(categorical, quantile)


def test_dart_is_refused(quantile):
    dart = _train({"booster": "dart", "rate_drop": 0.3, "max_depth": 3}, 10)
    with pytest.raises(UnsupportedForest, match="dart"):
        OneRowForest.build(dart, quantile)


def test_a_model_whose_answers_differ_is_refused(quantile):
    # a logistic model keeps its base score as a probability: a walk that added it as it is
    # would be off, and the check rows find that before any answer is served
    logistic = _train(
        {"objective": "reg:logistic", "max_depth": 3, "base_score": 0.3}, 10, binary=True
    )
    with pytest.raises(UnsupportedForest, match="differs from libxgboost"):
        OneRowForest.build(logistic, quantile)


def test_without_the_walk_predictions_are_the_same_and_the_log_says_why(
    trained_demo_artifact, monkeypatch, caplog
):
    # given the served model, once with the walk and once where the walk refuses the model
    blob, _ = trained_demo_artifact
    walked = load_predictor(blob, sha256_hex(blob))

    def refuse(cls, point, quantile):
        raise UnsupportedForest("a test refused it")

    monkeypatch.setattr(OneRowForest, "build", classmethod(refuse))
    with caplog.at_level(logging.WARNING, logger="mlmodel.core.predictor"):
        unwalked = load_predictor(blob, sha256_hex(blob))

    # then the second serves through libxgboost, says so, and answers identically
    assert isinstance(walked, Predictor) and walked._forest is not None
    assert unwalked._forest is None
    assert "a test refused it" in caplog.text
    frame = make_demo_dataframe(120, seed=9)
    for record in frame[list(PROFILE_FIELDS)].to_dict("records"):
        profile = parse_profile(record)
        assert walked.predict_one(profile) == unwalked.predict_one(profile)
