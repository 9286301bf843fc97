"""Import a salary CSV (the 11 dataset columns) into the training data."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlmodel.core.artifacts import short_sha256
from mlmodel.importing import RowError, SalaryImportInvalid, salary_import_csv
from mlmodel.management.commands._progress import progress_bars
from mlmodel.models import SalarySource
from portal.exceptions import ServiceError

# A file with thousands of bad rows should not drown the terminal: the count and the first few.
SHOWN_ROW_ERRORS = 5


def _first_reasons(row_errors: tuple[RowError, ...], prefix: str) -> list[str]:
    lines = [f"{prefix}{error}" for error in row_errors[:SHOWN_ROW_ERRORS]]
    hidden = len(row_errors) - SHOWN_ROW_ERRORS
    if hidden > 0:
        lines.append(f"… and {hidden:,} more invalid row(s)")
    return lines


class Command(BaseCommand):
    help = (
        "Import a salary CSV with the 11 dataset columns. Every row is validated first; any "
        "invalid row aborts the import (nothing is written) unless --skip-invalid is given. "
        "Importing the same file again adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV file with a header line")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the valid rows and report the invalid ones instead of aborting",
        )
        parser.add_argument(
            "--source",
            choices=[SalarySource.IMPORT, SalarySource.DEMO],
            default=SalarySource.IMPORT,
            help="mark the rows as imported real data (default) or as demo data",
        )

    def handle(self, *args, path: str, skip_invalid: bool, source: str, **options) -> None:
        try:
            with progress_bars(self.stdout._out) as progress:
                result = salary_import_csv(
                    path=path, skip_invalid=skip_invalid, source=source, progress=progress
                )
        except SalaryImportInvalid as exc:
            for line in _first_reasons(exc.row_errors, ""):
                self.stderr.write(line)
            raise CommandError(
                f"{len(exc.row_errors)} invalid row(s) in {path}; nothing was imported. "
                "Fix them, or pass --skip-invalid to import the valid rows only."
            ) from exc
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if result.already_imported:
            self.stdout.write(
                f"{result.file_name} was already imported (batch {result.batch_id}, sha256 "
                f"{short_sha256(result.file_sha256)}…): no rows added."
            )
            return
        for line in _first_reasons(result.row_errors, "skipped "):
            self.stderr.write(line)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.imported_count:,} rows from {result.file_name} "
                f"(batch {result.batch_id}); skipped {result.skipped_count:,} invalid row(s)."
            )
        )
