"""Batch CSV in and out: read an uploaded file of job profiles, write the results file.

Plain ``csv`` and :mod:`mlmodel.core.profile` only (no Django, no pandas), so the web request, the
API and the Celery task read and write files exactly the same way. Reading is split in two
steps: :func:`read_table` is cheap (decode, header check, count rows) and runs inside the
request to decide between answering now and queueing a job; :func:`parse_rows` validates every
row with :func:`mlmodel.core.profile.parse_profile` and may run later in the worker.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from mlmodel.core.profile import (
    EXAMPLE_PROFILE,
    PROFILE_FIELDS,
    WHITESPACE,
    ProfileError,
    SalaryProfile,
    parse_profile,
)

LINE_COLUMN = "line"
RESULT_COLUMNS: tuple[str, ...] = (
    "estimate_usd",
    "interval_low_usd",
    "interval_high_usd",
    "interval_level",
    "model_version",
    "title_match",
    "title_treated_as",
    "error",
)
# Columns we write ourselves; an input column with one of these names is not echoed back.
OUTPUT_OWN_COLUMNS: frozenset[str] = frozenset((LINE_COLUMN, *RESULT_COLUMNS))
ROW_SHAPE_ERROR_KEY = "row"
NUL = "\x00"
# Spreadsheets execute a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_ESCAPE = "'"
# Multipart framing around the file: a request this much over the file limit is refused unread.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
RESULT_FILE_SUFFIX = "predictions"
_VISIBLE_CELL_CHARACTER = (
    "[^" + "".join(f"\\u{ord(char):04x}" for char in f'{WHITESPACE},"{NUL}') + "]"
)
# Files the API schema can promise are read (ECMA-262): the header in its documented order, then
# a character that puts a non-blank cell into a data row. read_table accepts more (any column
# order and case, extra columns), which the schema's description says in words.
CSV_FILE_PATTERN = (
    f"^\\ufeff?{','.join(PROFILE_FIELDS)}\\r?\\n[^\\u0000]*{_VISIBLE_CELL_CHARACTER}[^\\u0000]*$"
)


class BatchFileError(ValueError):
    """The file as a whole cannot be used (not UTF-8, no header, missing columns, too big)."""

    def __init__(self, message: str, *, too_large: bool = False):
        super().__init__(message)
        self.message = message
        self.too_large = too_large


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One data record as read: the physical line it starts on and its cells."""

    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CsvTable:
    """A decoded file: its normalised header and its non-blank records."""

    columns: tuple[str, ...]
    records: list[RawRecord]

    @property
    def row_count(self) -> int:
        return len(self.records)


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One record after validation: a profile, or the errors that prevented one."""

    line: int
    values: dict[str, str]
    profile: SalaryProfile | None
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RowEstimate:
    """What the model answered for one row, as written to the results file."""

    estimate_usd: int
    interval_low_usd: int
    interval_high_usd: int
    interval_level: float
    model_version: int
    # How the title was read (exact / normalised / family_rule / unknown) and taken as.
    title_match: str = ""
    title_treated_as: str = ""


def decode(data: bytes) -> str:
    """UTF-8 with or without a byte-order mark; anything else is refused with the offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchFileError(
            f"The file is not UTF-8 text (invalid byte at position {exc.start}). "
            "Save it as 'CSV UTF-8' and upload it again."
        ) from None


def _normalise_header(cells: Sequence[str]) -> tuple[str, ...]:
    columns = tuple(cell.strip().lower() for cell in cells)
    if not any(columns):
        raise BatchFileError("The first line must be a header naming the columns.")
    seen: set[str] = set()
    for column in columns:
        if column and column in seen:
            raise BatchFileError(f"The header names the column '{column}' twice.")
        seen.add(column)
    missing = [name for name in PROFILE_FIELDS if name not in seen]
    if len(missing) == len(PROFILE_FIELDS):
        raise BatchFileError(
            "The header is missing all the required columns: "
            f"{', '.join(PROFILE_FIELDS)}. Is the first line a header, separated by commas? "
            "The template file shows the layout."
        )
    if missing:
        raise BatchFileError(
            f"The header is missing required column{'s' if len(missing) > 1 else ''}: "
            f"{', '.join(missing)}."
        )
    return columns


def _is_blank(cells: Sequence[str]) -> bool:
    return all(not cell.strip() for cell in cells)


def read_table(data: bytes, *, max_rows: int) -> CsvTable:
    """Decode, check the header and collect the records; more than ``max_rows`` is refused."""
    text = decode(data)
    if NUL in text:
        raise BatchFileError("The file contains NUL bytes: it does not look like a CSV text file.")
    if not text.strip():
        raise BatchFileError("The file is empty: it needs a header line and at least one row.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        columns = _normalise_header(header)
        records: list[RawRecord] = []
        line_before = reader.line_num
        for cells in reader:
            start_line = line_before + 1
            line_before = reader.line_num
            if _is_blank(cells):
                continue
            records.append(RawRecord(line=start_line, cells=tuple(cells)))
            if len(records) > max_rows:
                raise BatchFileError(
                    f"The file has more than {max_rows:,} rows; split it into smaller files.",
                    too_large=True,
                )
    except csv.Error as exc:
        raise BatchFileError(f"Line {reader.line_num}: not valid CSV ({exc}).") from None
    if not records:
        raise BatchFileError("The file has a header but no data rows.")
    return CsvTable(columns=columns, records=records)


def _parse_record(columns: tuple[str, ...], record: RawRecord) -> BatchRow:
    values = {column: cell for column, cell in zip(columns, record.cells, strict=False) if column}
    if len(record.cells) != len(columns):
        message = (
            f"Expected {len(columns)} fields like the header, found {len(record.cells)} "
            "(an unquoted comma in a value?)."
        )
        return BatchRow(
            line=record.line, values=values, profile=None, errors={ROW_SHAPE_ERROR_KEY: [message]}
        )
    try:
        profile = parse_profile(values)
    except ProfileError as exc:
        return BatchRow(line=record.line, values=values, profile=None, errors=exc.errors)
    return BatchRow(line=record.line, values=values, profile=profile)


def parse_rows(table: CsvTable) -> Iterator[BatchRow]:
    """Validate every record; bad ones come back with their field errors, not an exception."""
    for record in table.records:
        yield _parse_record(table.columns, record)


def error_text(line: int, errors: Mapping[str, list[str]]) -> str:
    """One readable sentence for the results file's ``error`` column."""
    details = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
    return f"Line {line}: {details}"


def spreadsheet_safe(value: object) -> object:
    """Neutralise a text cell a spreadsheet would run as a formula; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return FORMULA_ESCAPE + value
    return value


def echoed_columns(columns: Iterable[str]) -> list[str]:
    """Input columns repeated in the results file (unnamed and our own names left out)."""
    return [column for column in columns if column and column not in OUTPUT_OWN_COLUMNS]


def result_header(columns: Iterable[str]) -> list[str]:
    return [LINE_COLUMN, *echoed_columns(columns), *RESULT_COLUMNS]


def result_row(columns: Sequence[str], row: BatchRow, estimate: RowEstimate | None) -> list[object]:
    """One output row: line number, the input cells, then the estimate or the error."""
    cells: list[object] = [row.line]
    cells.extend(spreadsheet_safe(row.values.get(column, "")) for column in columns)
    if estimate is None:
        cells.extend([""] * (len(RESULT_COLUMNS) - 1) + [error_text(row.line, row.errors)])
    else:
        cells.extend(
            [
                estimate.estimate_usd,
                estimate.interval_low_usd,
                estimate.interval_high_usd,
                estimate.interval_level,
                estimate.model_version,
                estimate.title_match,
                spreadsheet_safe(estimate.title_treated_as),
                "",
            ]
        )
    return cells


class ResultWriter:
    """Accumulates the results file in memory (the job stores it as one blob)."""

    def __init__(self, input_columns: Iterable[str]):
        self._columns = echoed_columns(input_columns)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self._writer.writerow(result_header(self._columns))

    def write(self, row: BatchRow, estimate: RowEstimate | None) -> None:
        self._writer.writerow(result_row(self._columns, row, estimate))

    def getvalue(self) -> bytes:
        return self._buffer.getvalue().encode("utf-8")


def read_result_rows(data: bytes) -> list[dict[str, str]]:
    """The stored results file back as dicts (for the JSON form of a batch answer)."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


TEMPLATE_FILE_NAME = "batch-template.csv"
# A second example row beside EXAMPLE_PROFILE, so the template shows that rows differ.
TEMPLATE_SECOND_ROW: dict[str, object] = {
    **EXAMPLE_PROFILE.as_dict(),
    "job_title": "Machine Learning Engineer",
    "experience_level": "MI",
    "company_location": "DE",
    "employee_residence": "DE",
    "remote_ratio": 100,
    "company_size": "L",
}


def template_csv() -> bytes:
    """A file to start from: the header in its documented order and two example rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(PROFILE_FIELDS)
    for example in (EXAMPLE_PROFILE.as_dict(), TEMPLATE_SECOND_ROW):
        writer.writerow([example[name] for name in PROFILE_FIELDS])
    return buffer.getvalue().encode("utf-8")


def result_file_name(file_name: str, job_id: int) -> str:
    """``salaries.csv`` → ``salaries-predictions-12.csv`` (ASCII only, safe in a header)."""
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in stem)
    return f"{safe.strip('-') or 'batch'}-{RESULT_FILE_SUFFIX}-{job_id}.csv"
