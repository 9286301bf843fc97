"""Streaming import of salary CSV files (and synthetic demo rows) into ``SalaryRecord``.

A file is read twice, row by row, so memory does not grow with its size: pass 1 validates every
row with :func:`~mlmodel.core.profile.parse_salary_row` and hashes the bytes; pass 2 inserts the
valid rows in chunks inside one transaction. Either every valid row lands or none does, and a file
whose sha256 was imported before adds nothing.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.core.cache import cache
from django.db import IntegrityError, transaction

from mlmodel.core.profile import DATASET_COLUMNS, ProfileError, SalaryRow, parse_salary_row
from mlmodel.models import ImportBatch, SalaryRecord, SalarySource
from mlmodel.selectors import SALARY_DATA_GENERATION_KEY
from portal.exceptions import InvalidInput, ServiceError

logger = logging.getLogger(__name__)

IMPORT_CHUNK_SIZE = 2_000
HEADER_LINE = 1
FILE_ENCODING = "utf-8-sig"
IMPORT_SOURCES = (SalarySource.IMPORT, SalarySource.DEMO)
DEMO_FINGERPRINT_FORMAT = "mlpaygrade-demo-data/1"
STAGE_VALIDATE = "validate"
STAGE_INSERT = "insert"

# progress(stage, rows_advanced, total_rows_or_None): lets a command draw a progress bar.
ProgressCallback = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected row: its 1-based line in the file (header = line 1) and why."""

    line_number: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ImportResult:
    file_name: str
    file_sha256: str
    batch_id: int | None
    imported_count: int
    row_errors: tuple[RowError, ...] = ()
    already_imported: bool = False

    @property
    def skipped_count(self) -> int:
        return len(self.row_errors)


class SalaryImportInvalid(ServiceError):
    """The file has invalid rows and ``skip_invalid`` was not given: nothing was imported."""

    def __init__(self, row_errors: Iterable[RowError]):
        self.row_errors: tuple[RowError, ...] = tuple(row_errors)
        super().__init__({f"line {error.line_number}": [error.reason] for error in self.row_errors})


@dataclass(slots=True)
class _ValidationPass:
    sha256: str = ""
    valid_count: int = 0
    row_errors: list[RowError] = field(default_factory=list)


def _describe_profile_error(exc: ProfileError) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.errors.items())


def _hashed_text_lines(handle: BinaryIO, digest: hashlib._Hash) -> Iterator[str]:
    """Decode the file line by line while feeding the exact bytes into ``digest``."""
    decoder = codecs.getincrementaldecoder(FILE_ENCODING)()
    for line_number, raw in enumerate(handle, start=1):
        digest.update(raw)
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                {"file": [f"Line {line_number} is not valid UTF-8 text ({exc.reason})."]}
            ) from exc
    decoder.decode(b"", final=True)


def _check_header(header: list[str] | None) -> list[str]:
    if header is None:
        raise InvalidInput({"file": ["The file is empty: expected a header line."]})
    columns = [name.strip() for name in header]
    missing = [name for name in DATASET_COLUMNS if name not in columns]
    unexpected = [name for name in columns if name not in DATASET_COLUMNS]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected column(s): {', '.join(unexpected)}")
    if repeated:
        problems.append(f"repeated column(s): {', '.join(repeated)}")
    if problems:
        raise InvalidInput(
            {
                "file": [
                    f"Line {HEADER_LINE} (header) must name exactly these "
                    f"{len(DATASET_COLUMNS)} columns: {', '.join(DATASET_COLUMNS)}; "
                    + "; ".join(problems)
                    + "."
                ]
            }
        )
    return columns


def _parsed_rows(
    handle: BinaryIO, digest: hashlib._Hash
) -> Iterator[tuple[int, SalaryRow | None, str]]:
    """Yield ``(line_number, row or None, reason)`` for every non-blank data row."""
    reader = csv.reader(_hashed_text_lines(handle, digest), strict=True)
    try:
        columns = _check_header(next(reader, None))
        last_line = reader.line_num
        for fields in reader:
            line_number, last_line = last_line + 1, reader.line_num
            if not any(value.strip() for value in fields):
                continue
            if len(fields) != len(columns):
                yield (
                    line_number,
                    None,
                    f"expected {len(columns)} fields, got {len(fields)}",
                )
                continue
            try:
                yield line_number, parse_salary_row(dict(zip(columns, fields, strict=True))), ""
            except ProfileError as exc:
                yield line_number, None, _describe_profile_error(exc)
    except csv.Error as exc:
        raise InvalidInput({"file": [f"Line {reader.line_num} is not valid CSV: {exc}."]}) from exc


def _validate(path: Path, progress: ProgressCallback | None) -> _ValidationPass:
    result = _ValidationPass()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for line_number, row, reason in _parsed_rows(handle, digest):
            if row is None:
                result.row_errors.append(RowError(line_number, reason))
            else:
                result.valid_count += 1
            if progress is not None:
                progress(STAGE_VALIDATE, 1, None)
    result.sha256 = digest.hexdigest()
    return result


def _record(row: SalaryRow, *, source: str, batch: ImportBatch, line_number: int) -> SalaryRecord:
    return SalaryRecord(**row.as_dict(), source=source, batch=batch, line_number=line_number)


def _insert_in_chunks(
    records: Iterable[SalaryRecord], *, total: int, progress: ProgressCallback | None
) -> int:
    inserted = 0
    chunk: list[SalaryRecord] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= IMPORT_CHUNK_SIZE:
            SalaryRecord.objects.bulk_create(chunk)
            inserted += len(chunk)
            if progress is not None:
                progress(STAGE_INSERT, len(chunk), total)
            chunk = []
    if chunk:
        SalaryRecord.objects.bulk_create(chunk)
        inserted += len(chunk)
        if progress is not None:
            progress(STAGE_INSERT, len(chunk), total)
    return inserted


def _existing_batch(sha256: str) -> ImportBatch | None:
    return ImportBatch.objects.filter(file_sha256=sha256).first()


def _already_imported(*, file_name: str, batch: ImportBatch) -> ImportResult:
    logger.info("salary import skipped: %s is already imported as batch %s", file_name, batch.pk)
    return ImportResult(
        file_name=file_name,
        file_sha256=batch.file_sha256,
        batch_id=batch.pk,
        imported_count=0,
        already_imported=True,
    )


def _check_source(source: str) -> None:
    if source not in IMPORT_SOURCES:
        allowed = ", ".join(str(choice) for choice in IMPORT_SOURCES)
        raise InvalidInput({"source": [f"'{source}' is not an import source; use {allowed}."]})


def salary_import_csv(
    *,
    path: str | Path,
    skip_invalid: bool = False,
    source: str = SalarySource.IMPORT,
    progress: ProgressCallback | None = None,
) -> ImportResult:
    """Import a salary CSV with the 11 dataset columns; all-or-nothing unless ``skip_invalid``.

    Raises :class:`SalaryImportInvalid` listing every bad line when any row is invalid and
    ``skip_invalid`` is false, and ``ServiceError`` for a file that is not a usable CSV.
    """
    _check_source(source)
    path = Path(path)
    if not path.is_file():
        raise InvalidInput({"path": [f"No such file: {path}"]})
    validation = _validate(path, progress)
    existing = _existing_batch(validation.sha256)
    if existing is not None:
        return _already_imported(file_name=path.name, batch=existing)
    if validation.row_errors and not skip_invalid:
        raise SalaryImportInvalid(validation.row_errors)
    bad_lines = {error.line_number for error in validation.row_errors}

    digest = hashlib.sha256()
    try:
        with transaction.atomic(), path.open("rb") as handle:
            batch = ImportBatch.objects.create(
                file_name=path.name[: ImportBatch._meta.get_field("file_name").max_length],
                file_sha256=validation.sha256,
                source=source,
                skipped_count=len(validation.row_errors),
            )
            records = (
                _record(row, source=source, batch=batch, line_number=line_number)
                for line_number, row, _reason in _parsed_rows(handle, digest)
                if row is not None and line_number not in bad_lines
            )
            inserted = _insert_in_chunks(records, total=validation.valid_count, progress=progress)
            if digest.hexdigest() != validation.sha256:
                raise InvalidInput({"file": ["The file changed while it was being imported."]})
            batch.row_count = inserted
            batch.save(update_fields=["row_count"])
    except IntegrityError:
        # Another process imported the same file between our check and our insert.
        existing = _existing_batch(validation.sha256)
        if existing is None:
            raise
        return _already_imported(file_name=path.name, batch=existing)
    salary_data_changed()
    logger.info(
        "salary import done: %s rows from %s (batch %s, %s skipped)",
        inserted,
        path.name,
        batch.pk,
        len(validation.row_errors),
    )
    return ImportResult(
        file_name=path.name,
        file_sha256=validation.sha256,
        batch_id=batch.pk,
        imported_count=inserted,
        row_errors=tuple(validation.row_errors),
    )


def salary_data_changed() -> None:
    """Bump the salary-data generation so caches built from salary rows refresh at once."""
    try:
        cache.incr(SALARY_DATA_GENERATION_KEY)
    except ValueError:
        cache.add(SALARY_DATA_GENERATION_KEY, 1, timeout=None)


def demo_data_sha256(*, rows: int, seed: int) -> str:
    """A synthetic file hash: the same parameters always name the same demo batch."""
    text = f"{DEMO_FINGERPRINT_FORMAT}:rows={rows}:seed={seed}"
    return hashlib.sha256(text.encode()).hexdigest()


def salary_rows_create(
    *,
    rows: Iterable[Mapping[str, object]],
    total: int,
    file_name: str,
    file_sha256: str,
    source: str,
    progress: ProgressCallback | None = None,
) -> ImportResult:
    """Insert generated dataset rows as one batch, once per ``file_sha256``, all or nothing."""
    _check_source(source)
    existing = _existing_batch(file_sha256)
    if existing is not None:
        return _already_imported(file_name=file_name, batch=existing)
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                file_name=file_name, file_sha256=file_sha256, source=source
            )
            records = (
                _record(
                    parse_salary_row(raw),
                    source=source,
                    batch=batch,
                    line_number=HEADER_LINE + position,
                )
                for position, raw in enumerate(rows, start=1)
            )
            inserted = _insert_in_chunks(records, total=total, progress=progress)
            batch.row_count = inserted
            batch.save(update_fields=["row_count"])
    except IntegrityError:
        existing = _existing_batch(file_sha256)
        if existing is None:
            raise
        return _already_imported(file_name=file_name, batch=existing)
    except ProfileError as exc:
        raise InvalidInput({"rows": [f"{file_name} has an invalid row: {exc}"]}) from exc
    salary_data_changed()
    logger.info("salary rows created: %s rows in %s (batch %s)", inserted, file_name, batch.pk)
    return ImportResult(
        file_name=file_name, file_sha256=file_sha256, batch_id=batch.pk, imported_count=inserted
    )
