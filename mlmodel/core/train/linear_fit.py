"""Fit the linear component: ridge on one-hot groups, on the training rows only."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.linear_model import Ridge

from mlmodel.core.encoding import profile_columns
from mlmodel.core.linear import LINEAR_GROUPS, LinearComponent

DEFAULT_RIDGE_ALPHA = 1.0


def fit_linear_component(
    data: object, log_target: np.ndarray, alpha: float = DEFAULT_RIDGE_ALPHA
) -> LinearComponent:
    """Ridge on one-hot groups, fitted on the given (training) rows only."""
    columns = profile_columns(data)
    years = [int(y) for y in columns["work_year"]]
    probe = LinearComponent(0.0, {}, {}, (min(years), max(years)))
    n_rows = len(years)
    rows, cols, vocabularies = [], [], {}
    offset = 0
    for group, sources in LINEAR_GROUPS.items():
        keys = [
            probe.key(group, *vals) for vals in zip(*(columns[s] for s in sources), strict=True)
        ]
        vocabulary = {key: i for i, key in enumerate(sorted(set(keys)))}
        vocabularies[group] = (offset, vocabulary)
        rows.extend(range(n_rows))
        cols.extend(offset + vocabulary[key] for key in keys)
        offset += len(vocabulary)
    design = sparse.csr_matrix(
        (np.ones(len(rows)), (np.array(rows), np.array(cols))), shape=(n_rows, offset)
    )
    ridge = Ridge(alpha=alpha).fit(design, np.asarray(log_target, dtype=np.float64))
    coefficients = {
        group: {key: float(ridge.coef_[start + i]) for key, i in vocabulary.items()}
        for group, (start, vocabulary) in vocabularies.items()
    }
    fitted = LinearComponent(float(ridge.intercept_), coefficients, {}, probe.year_range)
    terms = fitted.terms_columns(columns)
    means = dict(zip(LINEAR_GROUPS, terms.mean(axis=0).tolist(), strict=True))
    return LinearComponent(float(ridge.intercept_), coefficients, means, probe.year_range)
