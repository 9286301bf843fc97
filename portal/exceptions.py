"""The one application exception type, mapped to HTTP once (API handler, HTML forms)."""


class ServiceError(Exception):
    """A business rule refused the request; ``errors`` maps field names to messages."""

    status_code = 400

    def __init__(self, errors: dict[str, list[str]] | str, *, status_code: int | None = None):
        if isinstance(errors, str):
            errors = {"detail": [errors]}
        self.errors = errors
        if status_code is not None:
            self.status_code = status_code
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
