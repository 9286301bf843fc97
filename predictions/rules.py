"""Input rules for predictions that are not about the job profile (that is
:func:`mlmodel.core.profile.parse_profile`): the history date range and the upload size.

Each rule is defined here once; the HTML forms, the API serializers and parsers and the services
call it and only map its error (``InvalidInput``, ``PayloadTooLarge``) to their medium, so every
door gives the same messages. The constants are also what the API schema states.
"""

from __future__ import annotations

import datetime
import re

from django.conf import settings

from portal.exceptions import InvalidInput, PayloadTooLarge

# One century of days: wide enough for every prediction this service will store, narrow enough
# to catch a mistyped year (0224, 2924), and a range the API schema can state exactly.
EARLIEST_HISTORY_DATE = datetime.date(2000, 1, 1)
LATEST_HISTORY_DATE = datetime.date(2099, 12, 31)
DATE_FORMAT_HINT = "YYYY-MM-DD"
_ISO_DATE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")
_DAY = "(?:0[1-9]|1[0-9]|2[0-8])"
# Every real day from EARLIEST_HISTORY_DATE to LATEST_HISTORY_DATE as YYYY-MM-DD (ECMA-262), so
# the schema describes exactly the dates history_date accepts: 29-31 only where the month has
# them, 29 February only in leap years (every year divisible by 4, in 2000-2099).
HISTORY_DATE_PATTERN = (
    "^(?:20[0-9]{2}-(?:"
    f"(?:0[1-9]|1[0-2])-{_DAY}|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    "|20(?:[02468][048]|[13579][26])-02-29)$"
)
UPLOAD_FIELD = "file"
BYTES_PER_MEGABYTE = 1024 * 1024


def history_date(value: object) -> datetime.date | None:
    """One bound of the history filter: empty means "no bound"; else a day in the range.

    Only ``YYYY-MM-DD`` with ASCII digits, what an HTML date input sends and the schema's
    ``format: date`` means; ranges outside the century are refused before they reach a query.
    """
    if value is None or value == "":
        return None
    day = value if isinstance(value, datetime.date) else _parse_iso_date(value)
    if not EARLIEST_HISTORY_DATE <= day <= LATEST_HISTORY_DATE:
        raise ValueError(
            f"Choose a date between {EARLIEST_HISTORY_DATE.isoformat()} and "
            f"{LATEST_HISTORY_DATE.isoformat()}."
        )
    return day


def _parse_iso_date(value: object) -> datetime.date:
    match = _ISO_DATE.fullmatch(value) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError
        return datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise ValueError(f"Enter a real date as {DATE_FORMAT_HINT}.") from None


def history_date_range(
    *, date_from: object, date_to: object
) -> tuple[datetime.date | None, datetime.date | None]:
    """Both bounds of the history filter (inclusive), every field error at once.

    A range that ends before it starts is valid and simply contains no prediction: the API
    schema cannot state an order between two parameters, so refusing it would turn requests
    the schema promises into errors.
    """
    bounds: dict[str, datetime.date | None] = {}
    errors: dict[str, list[str]] = {}
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        try:
            bounds[name] = history_date(value)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise InvalidInput(errors)
    return bounds["date_from"], bounds["date_to"]


def batch_upload_size_check(*, size: int) -> None:
    """The one size limit of a batch file (``BATCH_UPLOAD_MAX_BYTES``); beyond it, a 413.

    Every door calls it as early as it knows the size (the body's length, the upload's size), so
    a large file is refused before it is read, with the same message everywhere.
    """
    limit = settings.BATCH_UPLOAD_MAX_BYTES
    if size > limit:
        raise PayloadTooLarge(
            {
                UPLOAD_FIELD: [
                    f"The file is larger than {limit / BYTES_PER_MEGABYTE:g} MB; split it into "
                    "smaller files."
                ]
            }
        )
