"""The application's errors: what kind of refusal, never which HTTP status.

Services and selectors raise a :class:`ServiceError` subclass that says what went wrong (the
input is invalid, the thing does not exist, it conflicts with the current state, it is too
large, a dependency is unavailable). The status each kind gets is decided once, at the edge:
:data:`portal.errors.HTTP_STATUS` maps them for the API's exception handler and for the HTML
views alike.
"""


class ServiceError(Exception):
    """A business rule refused the request; ``errors`` maps field names to messages.

    Raised as such, it means the input is invalid (as :class:`InvalidInput` does).
    """

    def __init__(self, errors: dict[str, list[str]] | str):
        if isinstance(errors, str):
            errors = {"detail": [errors]}
        self.errors = errors
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))


class InvalidInput(ServiceError):
    """The request breaks a validation or business rule; ``errors`` names the fields."""


class NotFound(ServiceError):
    """The thing asked for does not exist, or is not the caller's to see."""


class Conflict(ServiceError):
    """The request clashes with the current state (something already running, a duplicate)."""


class PayloadTooLarge(ServiceError):
    """The request or its file is larger than the configured limit."""


class Unavailable(ServiceError):
    """A dependency (database, broker, the model) cannot serve now; retrying later may work."""
