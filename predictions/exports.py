"""The history CSV export, streamed row by row so a long history never sits in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from mlmodel.core.profile import PROFILE_FIELDS
from mlmodel.core.taxonomy import job_family
from predictions.batch import spreadsheet_safe
from predictions.models import Prediction

EXPORT_CHUNK_SIZE = 2_000
HISTORY_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    *PROFILE_FIELDS,
    "job_family",
    "estimate_usd",
    "interval_low_usd",
    "interval_high_usd",
    "interval_level",
    "model_version",
    "channel",
    "title_match",
)


class _Echo:
    """A file-like object whose ``write`` hands the line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _row(prediction: Prediction) -> list[object]:
    inputs = prediction.inputs
    return [
        prediction.pk,
        prediction.created_at.isoformat(),
        *(spreadsheet_safe(inputs.get(name, "")) for name in PROFILE_FIELDS),
        job_family(str(inputs.get("job_title", ""))),
        prediction.estimate_usd,
        prediction.interval_low_usd,
        prediction.interval_high_usd,
        prediction.interval_level,
        prediction.model_version.version,
        prediction.channel,
        prediction.title_match,
    ]


def history_csv_lines(predictions: Iterable[Prediction]) -> Iterator[str]:
    """Header then one CSV line per prediction, for a StreamingHttpResponse."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow(HISTORY_COLUMNS)
    for prediction in predictions:
        yield writer.writerow(_row(prediction))
