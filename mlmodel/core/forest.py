"""One row through the point and quantile boosters' trees, in numpy, bit-identical to libxgboost.

For a single row libxgboost's fixed cost per call outweighs the trees (measured, see
docs/benchmarks.md): every DMatrix re-reads the cgroup CPU quota from /sys (about ten system
calls), and every prediction rebuilds views of all trees and, for contributions, every node's
mean value: 0.32 ms of a 0.54 ms ``predict_one``, against 0.07 ms for this walk. The API
answers one row per request, so serving copies the trees out of the boosters' own JSON once,
at load, into flat arrays, and walks all trees of both models at once: ``max_depth`` steps of
numpy indexing.

Every number is the float32 operation libxgboost's CPU predictor does, in its order
(``src/predictor/cpu_predictor.cc`` and ``treeshap.cc`` of XGBoost 3.2):

- a split sends ``value < threshold`` left, a missing (NaN) value to its default child;
- an output starts at its base score and adds each of its trees' leaf values in tree order;
- approximate (Saabas) contributions: a node's mean value is its children's, weighted by their
  hessian sums; each step down a path adds ``mean(child) − mean(node)`` to the split feature,
  the root's mean goes to the bias, one tree's vector is added to the total tree by tree, and
  the base score is added to the bias last. What a tree adds depends only on the leaf the row
  reaches, so each leaf's vector is computed at load, and a row's totals add its leaves'
  vectors row after row in tree order (``np.add.reduce`` down the slow axis of a C-ordered
  array: numpy sums pairwise only along the fast one). The check rows below, run at every
  load, would catch a numpy that summed otherwise.

:meth:`OneRowForest.build` refuses (:class:`UnsupportedForest`) what this walk does not do
(categorical splits, vector leaves, dart's tree weights), and any model whose answers on check
rows differ from libxgboost's in a single bit; the predictor then serves single rows through
libxgboost, and says so in its log.
"""

from __future__ import annotations

import numpy as np

from mlmodel.core.booster import Booster, BoosterError, DenseMatrix

_F32 = np.float32
_NO_CHILD = -1
_NUMERICAL_SPLIT = 0
_CHECK_ROWS = 48
_CHECK_SEED = 20261203
# The check rows are drawn around the models' own thresholds: just below, at and just above.
_NEAR_THRESHOLD = (-1, 0, 1)


class UnsupportedForest(ValueError):
    """The boosters have something this walk does not reproduce exactly."""


# (point log estimate, the two log quantiles as predicted, contributions: features…, bias)
OneRowOutputs = tuple[float, float, float, list[float]]


class _Model:
    """One booster's trees as Python lists, checked for what the walk supports."""

    def __init__(self, booster: Booster, n_outputs: int):
        document = booster.model_json()
        learner = document["learner"]
        gradient_booster = learner["gradient_booster"]
        if gradient_booster.get("name") != "gbtree":
            raise UnsupportedForest(f"booster {gradient_booster.get('name')!r} is not gbtree")
        model = gradient_booster["model"]
        self.base = [_F32(float(v)) for v in _floats(learner["learner_model_param"]["base_score"])]
        self.tree_outputs = [int(g) for g in model["tree_info"]]
        self.trees = model["trees"]
        if len(self.base) != n_outputs or any(not 0 <= g < n_outputs for g in self.tree_outputs):
            raise UnsupportedForest(f"expected {n_outputs} output(s), the model has {self.base}")
        for tree in self.trees:
            if int(tree["tree_param"].get("num_deleted", "0")):
                raise UnsupportedForest("trees with deleted nodes")
            # libxgboost takes a split's right child to be left + 1, and the node means are
            # filled children first: refuse a layout where either does not hold
            for node, (low, high) in enumerate(
                zip(tree["left_children"], tree["right_children"], strict=True)
            ):
                if low != _NO_CHILD and not (high == low + 1 and low > node):
                    raise UnsupportedForest(f"node {node}'s children are not laid out in order")
            if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
                raise UnsupportedForest("vector leaves (multi-target trees)")
            if any(int(t) != _NUMERICAL_SPLIT for t in tree["split_type"]) or tree["categories"]:
                raise UnsupportedForest("categorical splits")


def _floats(text: str) -> list[str]:
    """XGBoost 3 writes a base score as "[1.2E1,…]", earlier versions as "1.2E1"."""
    return [part for part in text.strip("[]").split(",") if part]


def _mean_values(tree: dict) -> list[np.float32]:
    """FillNodeMeanValues: each node's hessian-weighted mean leaf value, in float32."""
    left, right = tree["left_children"], tree["right_children"]
    hessian = [_F32(v) for v in tree["sum_hessian"]]
    value = [_F32(v) for v in tree["split_conditions"]]
    means = [_F32(0.0)] * len(left)
    # children have higher ids than their parent: fill from the last node up
    for node in range(len(left) - 1, -1, -1):
        if left[node] == _NO_CHILD:
            means[node] = value[node]
        else:
            total = _F32(means[left[node]] * hessian[left[node]])
            total = _F32(total + _F32(means[right[node]] * hessian[right[node]]))
            means[node] = _F32(total / hessian[node])
    return means


class OneRowForest:
    """Both models' trees as flat arrays; immutable, so threads may share it."""

    def __init__(self, point: Booster, quantile: Booster):
        point_model, quantile_model = _Model(point, 1), _Model(quantile, 2)
        n_features = point.num_features
        if quantile.num_features != n_features:
            raise UnsupportedForest("the two boosters read different features")
        self.n_features = n_features
        self._n_point_trees = len(point_model.trees)
        # The point model's sums: contributions (features…, bias), then its value.
        self._bias, self._value = n_features, n_features + 1
        self._point_start = np.zeros(n_features + 2, dtype=_F32)
        self._point_start[self._value] = point_model.base[0]
        self._point_base = point_model.base[0]
        # The quantile model's sums: row k holds the k-th tree of each output, after the bases.
        trees_per_output = [quantile_model.tree_outputs.count(g) for g in range(2)]
        self._quantile_start = np.zeros((max(trees_per_output) + 1, 2), dtype=_F32)
        self._quantile_start[0] = quantile_model.base
        seen = [0, 0]
        cells = []
        for output in quantile_model.tree_outputs:
            seen[output] += 1
            cells.append(seen[output] * 2 + output)
        self._quantile_cells = np.array(cells, dtype=np.intp)

        columns: list[list] = [[], [], [], [], [], []]
        roots, point_leaf_rows, leaf_row_of_node = [], [], []
        offset = 0
        for model, contributes in ((point_model, True), (quantile_model, False)):
            for tree in model.trees:
                roots.append(offset)
                for column, values in zip(columns, self._tree_arrays(tree, offset), strict=True):
                    column += values
                for entries in self._leaf_entries(tree) if contributes else ():
                    leaf_row_of_node.append(len(point_leaf_rows) if entries else _NO_CHILD)
                    if entries:
                        added = np.zeros(n_features + 2, dtype=_F32)
                        for slot, value in entries:
                            added[slot] = value
                        point_leaf_rows.append(added)
                offset += len(tree["left_children"])
        left, right, feature, threshold, default_left, leaf_value = columns
        self._left = np.array(left, dtype=np.intp)
        self._right = np.array(right, dtype=np.intp)
        self._feature = np.array(feature, dtype=np.intp)
        self._threshold = np.array(threshold, dtype=_F32)
        self._default_left = np.array(default_left, dtype=bool)
        self._leaf_value = np.array(leaf_value, dtype=_F32)
        self._roots = np.array(roots, dtype=np.intp)
        self._depth = self._max_depth()
        # What each point-model leaf adds to every sum: zeros included, as libxgboost adds a
        # tree's whole contribution vector.
        self._leaf_row_of_node = np.array(leaf_row_of_node, dtype=np.intp)
        self._point_leaf_rows = np.array(point_leaf_rows, dtype=_F32)

    @classmethod
    def build(cls, point: Booster, quantile: Booster) -> OneRowForest:
        """The walk for these boosters, checked bit for bit against libxgboost on check rows."""
        forest = cls(point, quantile)
        forest._check_against(point, quantile)
        return forest

    @staticmethod
    def _tree_arrays(tree: dict, offset: int):
        """Per node: left and right child, split feature, threshold, default left, leaf value."""
        left, right = tree["left_children"], tree["right_children"]
        lefts, rights, features, thresholds, leaf_values = [], [], [], [], []
        for node, (low, high) in enumerate(zip(left, right, strict=True)):
            leaf = low == _NO_CHILD
            value = float(tree["split_conditions"][node])  # a leaf's value, or a threshold
            # a leaf points at itself, so rows that reach it early stay there
            lefts.append(offset + (node if leaf else low))
            rights.append(offset + (node if leaf else high))
            features.append(0 if leaf else int(tree["split_indices"][node]))
            thresholds.append(0.0 if leaf else value)
            leaf_values.append(value if leaf else 0.0)
        defaults = [bool(d) for d in tree["default_left"]]
        return lefts, rights, features, thresholds, defaults, leaf_values

    def _leaf_entries(self, tree: dict) -> list[list[tuple[int, np.float32]] | None]:
        """Per node of a point-model tree: for a leaf, the (sum, value) pairs it adds (its value,
        the bias and its path's contributions); None for a split."""
        left, right = tree["left_children"], tree["right_children"]
        entries: list[list[tuple[int, np.float32]] | None] = [None for _ in left]
        means = _mean_values(tree)
        stack: list[tuple[int, dict[int, np.float32]]] = [(0, {})]
        while stack:
            node, path = stack.pop()
            if left[node] == _NO_CHILD:
                added = {
                    **path,
                    self._bias: means[0],
                    self._value: _F32(tree["split_conditions"][node]),
                }
                entries[node] = list(added.items())
                continue
            feature = int(tree["split_indices"][node])
            for child in (left[node], right[node]):
                step = _F32(means[child] - means[node])
                stack.append((child, {**path, feature: _F32(path.get(feature, _F32(0.0)) + step)}))
        return entries

    def _max_depth(self) -> int:
        nodes, depth = self._roots, 0
        while True:
            below = np.concatenate([self._left[nodes], self._right[nodes]])
            if np.array_equal(np.concatenate([nodes, nodes]), below):
                return depth
            nodes, depth = np.unique(below), depth + 1

    def _leaves(self, row: np.ndarray) -> np.ndarray:
        nodes = self._roots
        feature, threshold, left, right = self._feature, self._threshold, self._left, self._right
        missing = not np.isfinite(row).all()
        if missing and np.isinf(row).any():
            # libxgboost's DMatrix refuses infinities; so does the walk
            raise BoosterError("Input data contains `inf` or a value too large.")
        for _ in range(self._depth):
            values = row[feature[nodes]]
            go_left = values < threshold[nodes]
            if missing:
                go_left = np.where(np.isnan(values), self._default_left[nodes], go_left)
            nodes = np.where(go_left, left[nodes], right[nodes])
        return nodes

    def outputs(self, row: np.ndarray) -> OneRowOutputs:
        """Point value, the two quantiles and the point model's contributions for one row of
        ``n_features`` float32 values (shape (n,) or (1, n))."""
        row = np.asarray(row, dtype=_F32).reshape(-1)
        if row.shape != (self.n_features,):
            raise ValueError(f"expected {self.n_features} features, got {row.shape}")
        nodes = self._leaves(row)
        # Running sums in tree order, in float32, as libxgboost adds: np.add.reduce along the
        # slow axis adds row after row (pairwise summation is only done along the fast axis).
        point = np.empty((self._n_point_trees + 1, len(self._point_start)), dtype=_F32)
        point[0] = self._point_start
        leaf_rows = self._leaf_row_of_node[nodes[: self._n_point_trees]]
        np.take(self._point_leaf_rows, leaf_rows, axis=0, out=point[1:])
        sums = np.add.reduce(point, axis=0)
        sums[self._bias] += self._point_base
        quantiles = self._quantile_start.copy()
        quantiles.reshape(-1)[self._quantile_cells] = self._leaf_value[nodes[self._n_point_trees :]]
        low, high = np.add.reduce(quantiles, axis=0).tolist()
        values = sums.tolist()
        return values[self._value], low, high, values[: self._value]

    def _check_rows(self) -> np.ndarray:
        """Rows at, just below and just above the models' thresholds, plus zeros and NaN."""
        rng = np.random.default_rng(_CHECK_SEED)
        rows = np.zeros((_CHECK_ROWS, self.n_features), dtype=_F32)
        internal = self._left != np.arange(len(self._left))
        for feature in range(self.n_features):
            cuts = np.unique(self._threshold[internal & (self._feature == feature)])
            if not len(cuts):
                continue
            picked = rng.choice(cuts, size=_CHECK_ROWS)
            direction = rng.choice(_NEAR_THRESHOLD, size=_CHECK_ROWS)
            rows[:, feature] = np.where(
                direction == 0,
                picked,
                np.nextafter(picked, np.where(direction < 0, -np.inf, np.inf).astype(_F32)),
            )
        rows[0] = 0.0
        rows[1] = np.nan
        rows[2, ::2] = np.nan
        return rows

    def _check_against(self, point: Booster, quantile: Booster) -> None:
        rows = self._check_rows()
        with DenseMatrix(rows, threads=1) as matrix:
            expected_point = point.predict_matrix(matrix)
            expected_quantiles = quantile.predict_matrix(matrix)
            expected_contributions = point.predict_matrix(matrix, contributions=True)
        for index, row in enumerate(rows):
            value, low, high, contributions = self.outputs(row)
            same = (
                [value] == expected_point[index].tolist()
                and [low, high] == expected_quantiles[index].tolist()
                and contributions == expected_contributions[index].tolist()
            )
            if not same:
                raise UnsupportedForest(f"check row {index} differs from libxgboost")
