"""The input rules of feedback, defined once: the rating, the actual salary and the comment.

The feedback box (HTML), the API serializer and ``feedback_upsert`` all call
:func:`feedback_fields`; the doors only map its ``InvalidInput`` to their medium. The salary
range is the data set's (``mlmodel.core.profile.salary_usd_error``), because a shared salary may
become a training row.
"""

from __future__ import annotations

from dataclasses import dataclass

from feedback.models import MAX_COMMENT_LENGTH, Rating
from mlmodel.core.profile import (
    NUL_MESSAGE,
    REQUIRED_MESSAGE,
    FieldError,
    salary_usd_error,
    whole_number,
)
from portal.exceptions import InvalidInput

NUL = "\x00"
RATING_MESSAGE = f"Choose one of: {', '.join(Rating.values)}."


@dataclass(frozen=True, slots=True)
class FeedbackFields:
    rating: str
    actual_salary_usd: int | None
    comment: str


def _rating(value: object) -> str:
    if value is None or value == "":
        raise FieldError(REQUIRED_MESSAGE)
    if not isinstance(value, str) or value not in Rating.values:
        raise FieldError(RATING_MESSAGE)
    return value


def _actual_salary(value: object, *, strict_types: bool) -> int | None:
    """Optional: nothing (null, or an empty box) means the user shares no salary."""
    if value is None or (value == "" and not strict_types):
        return None
    amount = whole_number(value, strict_types=strict_types)
    problem = salary_usd_error(amount)
    if problem is not None:
        raise FieldError(problem)
    return amount


def _comment(value: object) -> str:
    """Kept as typed (no stripping): it is shown back to its author."""
    if not isinstance(value, str):
        got = "null" if value is None else type(value).__name__
        raise FieldError(f"Expected text, got {got}.")
    if NUL in value:
        raise FieldError(NUL_MESSAGE)
    if len(value) > MAX_COMMENT_LENGTH:
        raise FieldError(
            f"Comment must be at most {MAX_COMMENT_LENGTH} characters (got {len(value)})."
        )
    return value


def feedback_fields(
    *, rating: object, actual_salary_usd: object, comment: object = "", strict_types: bool = True
) -> FeedbackFields:
    """All three fields checked, every error at once (``InvalidInput``).

    ``strict_types`` (the default, for JSON and Python callers): the salary must be an integer.
    The HTML form turns it off, so the salary is read from its text and an empty box is none.
    """
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}
    checks = {
        "rating": lambda: _rating(rating),
        "actual_salary_usd": lambda: _actual_salary(actual_salary_usd, strict_types=strict_types),
        "comment": lambda: _comment(comment),
    }
    for name, check in checks.items():
        try:
            values[name] = check()
        except FieldError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise InvalidInput(errors)
    return FeedbackFields(**values)
