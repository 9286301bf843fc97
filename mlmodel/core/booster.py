"""Gradient-boosted trees served through libxgboost's C API, without the xgboost package.

Importing the ``xgboost`` Python package imports scikit-learn, SciPy and pandas (its sklearn
wrapper and data adapters load eagerly), and a web process needs none of them to walk trees.
The shared library ships inside the xgboost wheel, and its C API (``c_api.h``) is the
documented interface every language binding is built on, so serving calls it directly: load a
UBJSON model from bytes, then predict values and approximate (Saabas) contributions for dense
float32 rows, with exactly the arguments the Python package passes. Training keeps the Python
package; ``tests/mlmodel/core/test_booster.py`` checks both give bit-identical numbers.
A single row is walked by :mod:`mlmodel.core.forest` instead, from the trees this module
exports (:meth:`Booster.model_json`): libxgboost's fixed cost per call outweighs the trees.

The library is found by xgboost's own ``libpath.find_lib_path``, loaded from its file so that
the package's ``__init__`` (and with it scikit-learn) never runs.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import math
import threading
from pathlib import Path

import numpy as np

PREDICT_VALUE = 0
PREDICT_APPROX_CONTRIBUTIONS = 3
LIBPATH_MODULE = "libpath.py"


class BoosterError(RuntimeError):
    """libxgboost refused a call (a corrupt model, a wrong shape) or could not be loaded."""


def _find_library() -> str:
    spec = importlib.util.find_spec("xgboost")
    if spec is None or not spec.submodule_search_locations:
        raise BoosterError("The xgboost package (which ships libxgboost) is not installed.")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    libpath_spec = importlib.util.spec_from_file_location(
        "mlmodel_xgboost_libpath", package_dir / LIBPATH_MODULE
    )
    if libpath_spec is None or libpath_spec.loader is None:
        raise BoosterError(f"Cannot read {package_dir / LIBPATH_MODULE}.")
    libpath = importlib.util.module_from_spec(libpath_spec)
    libpath_spec.loader.exec_module(libpath)
    paths = libpath.find_lib_path()
    if not paths:
        raise BoosterError(f"No libxgboost found next to {package_dir}.")
    return paths[0]


_library: ctypes.CDLL | None = None
_library_lock = threading.Lock()


def _lib() -> ctypes.CDLL:
    global _library
    if _library is None:
        with _library_lock:
            if _library is None:
                library = ctypes.cdll.LoadLibrary(_find_library())
                library.XGBGetLastError.restype = ctypes.c_char_p
                _library = library
    return _library


def _check(status: int) -> None:
    if status != 0:
        raise BoosterError(_lib().XGBGetLastError().decode(errors="replace"))


def _json(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def _predict_config(prediction_type: int) -> bytes:
    """The JSON ``Booster.predict`` / ``inplace_predict`` pass (no iteration limit)."""
    return _json(
        {
            "type": prediction_type,
            "training": False,
            "iteration_begin": 0,
            "iteration_end": 0,
            "strict_shape": False,
            "missing": math.nan,
            "cache_id": 0,
        }
    )


_VALUE_CONFIG = _predict_config(PREDICT_VALUE)
_CONTRIBUTIONS_CONFIG = _predict_config(PREDICT_APPROX_CONTRIBUTIONS)


def _array_interface(rows: np.ndarray) -> bytes:
    """numpy's ``__array_interface__`` of a C-contiguous float32 matrix, as libxgboost reads it."""
    n_rows, n_columns = rows.shape
    address = rows.__array_interface__["data"][0]
    return (
        f'{{"data": [{address}, false], "strides": null, "descr": [["", "<f4"]], '
        f'"typestr": "<f4", "shape": [{n_rows}, {n_columns}], "version": 3}}'
    ).encode()


def _dense(rows: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    if rows.ndim != 2:
        raise BoosterError(f"Expected a 2-D matrix of rows, got shape {rows.shape}.")
    return rows


class DenseMatrix:
    """A DMatrix over float32 rows, for several predictions on the same rows (one copy)."""

    def __init__(self, rows: np.ndarray, *, threads: int):
        self.rows = _dense(rows)
        self.handle = ctypes.c_void_p()
        config = _json({"missing": math.nan, "nthread": threads, "data_split_mode": 0})
        _check(
            _lib().XGDMatrixCreateFromDense(
                _array_interface(self.rows), config, ctypes.byref(self.handle)
            )
        )

    def close(self) -> None:
        if self.handle:
            _check(_lib().XGDMatrixFree(self.handle))
            self.handle = ctypes.c_void_p()

    def __enter__(self) -> DenseMatrix:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Booster:
    """One loaded model; predictions may run from several threads at once."""

    def __init__(self, model_ubj: bytes, *, threads: int):
        lib = _lib()
        self.handle = ctypes.c_void_p()
        _check(lib.XGBoosterCreate(None, ctypes.c_uint64(0), ctypes.byref(self.handle)))
        raw = bytes(model_ubj)
        buffer = (ctypes.c_char * len(raw)).from_buffer_copy(raw)
        _check(lib.XGBoosterLoadModelFromBuffer(self.handle, buffer, ctypes.c_uint64(len(raw))))
        _check(lib.XGBoosterSetParam(self.handle, b"nthread", str(threads).encode()))
        count = ctypes.c_uint64()
        _check(lib.XGBoosterGetNumFeature(self.handle, ctypes.byref(count)))
        self.num_features = int(count.value)

    def __del__(self) -> None:
        handle = getattr(self, "handle", None)
        if handle and _library is not None:
            _library.XGBoosterFree(handle)

    def model_json(self) -> dict:
        """The model as XGBoost's own JSON document (trees, base score, objective)."""
        size = ctypes.c_uint64()
        out = ctypes.POINTER(ctypes.c_char)()
        _check(
            _lib().XGBoosterSaveModelToBuffer(
                self.handle, _json({"format": "json"}), ctypes.byref(size), ctypes.byref(out)
            )
        )
        return json.loads(ctypes.string_at(out, size.value))

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Raw predictions (n_rows, n_outputs) for dense rows (``inplace_predict``)."""
        rows = _dense(rows)
        shape, dims, out = _outputs()
        _check(
            _lib().XGBoosterPredictFromDense(
                self.handle,
                _array_interface(rows),
                _VALUE_CONFIG,
                None,
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(out),
            )
        )
        return _as_array(shape, dims, out, len(rows))

    def _predict_matrix(self, matrix: DenseMatrix, contributions: bool):
        config = _CONTRIBUTIONS_CONFIG if contributions else _VALUE_CONFIG
        shape, dims, out = _outputs()
        _check(
            _lib().XGBoosterPredictFromDMatrix(
                self.handle,
                matrix.handle,
                config,
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(out),
            )
        )
        return shape, dims, out

    def predict_matrix(self, matrix: DenseMatrix, *, contributions: bool = False) -> np.ndarray:
        """Values, or approximate contributions (features…, bias), for the rows of ``matrix``."""
        shape, dims, out = self._predict_matrix(matrix, contributions)
        return _as_array(shape, dims, out, len(matrix.rows))

    def predict_matrix_list(
        self, matrix: DenseMatrix, *, contributions: bool = False
    ) -> list[float]:
        """:meth:`predict_matrix` as a flat list of floats: for one row, cheaper than numpy."""
        shape, dims, out = self._predict_matrix(matrix, contributions)
        return out[: _size(shape, dims)]


def _outputs() -> tuple[ctypes._Pointer, ctypes.c_uint64, ctypes._Pointer]:
    """The out-parameters of libxgboost's predict calls: shape, dimensions, values."""
    return ctypes.POINTER(ctypes.c_uint64)(), ctypes.c_uint64(), ctypes.POINTER(ctypes.c_float)()


def _size(shape, dims) -> int:
    return math.prod(shape[i] for i in range(dims.value))


def _as_array(shape, dims, out, n_rows: int) -> np.ndarray:
    """Copy the library's (thread-local) output buffer into an (n_rows, k) float32 array."""
    size = _size(shape, dims)
    values = np.ctypeslib.as_array(out, shape=(size,)).copy() if size else np.empty(0, np.float32)
    return values.reshape(n_rows, -1)
