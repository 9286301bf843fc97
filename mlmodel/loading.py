"""Placeholder: replaced by the model-loading implementation."""


def readiness_check() -> str:
    raise RuntimeError("model loading is not implemented yet")
