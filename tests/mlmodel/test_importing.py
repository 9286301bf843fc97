"""Importing salary CSVs: validation first, all-or-nothing, idempotent per file, streamed."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from mlmodel import importing
from mlmodel.importing import SalaryImportInvalid, salary_import_csv
from mlmodel.models import ImportBatch, SalaryRecord, SalarySource
from mlmodel.training_services import salary_demo_data_create
from portal.exceptions import ServiceError
from tests.mlmodel.conftest import VALID_ROWS

REAL_ROW_COUNT = 16_494

pytestmark = pytest.mark.django_db


def _bad_rows() -> list[list[str]]:
    """Valid rows with two broken ones at file lines 3 and 5 (header is line 1)."""
    bad_currency = [*VALID_ROWS[1]]
    bad_currency[5] = "QQQ"
    bad_level_and_ratio = [*VALID_ROWS[2]]
    bad_level_and_ratio[1] = "ZZ"
    bad_level_and_ratio[8] = "30"
    return [VALID_ROWS[0], bad_currency, VALID_ROWS[2], bad_level_and_ratio, VALID_ROWS[0]]


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_salaries", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_valid_file_is_imported_with_line_numbers_and_batch(csv_file):
    # given
    path = csv_file(VALID_ROWS)

    # when
    out, _err = _run(str(path))

    # then
    assert "Imported 3 rows" in out
    batch = ImportBatch.objects.get()
    assert (batch.row_count, batch.skipped_count, batch.source) == (3, 0, SalarySource.IMPORT)
    records = list(SalaryRecord.objects.order_by("line_number"))
    assert [r.line_number for r in records] == [2, 3, 4]
    assert all(r.batch_id == batch.pk and r.source == SalarySource.IMPORT for r in records)
    assert (records[1].job_title, records[1].salary_currency, records[1].salary_in_usd) == (
        "Machine Learning Engineer",
        "EUR",
        97_000,
    )


def test_any_invalid_row_imports_nothing_and_reports_every_bad_line(csv_file):
    # given
    path = csv_file(_bad_rows())

    # when
    with pytest.raises(CommandError, match="2 invalid row"):
        _run(str(path))

    # then
    assert SalaryRecord.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    with pytest.raises(SalaryImportInvalid) as raised:
        salary_import_csv(path=path)
    errors = {error.line_number: error.reason for error in raised.value.row_errors}
    assert sorted(errors) == [3, 5]
    assert "salary_currency" in errors[3]
    assert "experience_level" in errors[5] and "remote_ratio" in errors[5]


def test_command_prints_each_bad_line_and_reason(csv_file):
    # given
    path = csv_file(_bad_rows())
    err = StringIO()

    # when
    with pytest.raises(CommandError):
        call_command("import_salaries", str(path), stdout=StringIO(), stderr=err)

    # then
    lines = err.getvalue().splitlines()
    assert any(line.startswith("line 3: salary_currency") for line in lines)
    assert any(line.startswith("line 5: experience_level") for line in lines)


def test_skip_invalid_imports_the_good_rows_and_reports_the_rest(csv_file):
    # given
    path = csv_file(_bad_rows())

    # when
    out, err = _run(str(path), "--skip-invalid")

    # then
    assert "Imported 3 rows" in out and "skipped 2 invalid" in out
    assert "skipped line 3" in err and "skipped line 5" in err
    assert sorted(SalaryRecord.objects.values_list("line_number", flat=True)) == [2, 4, 6]
    assert ImportBatch.objects.get().skipped_count == 2


def test_same_file_twice_adds_nothing_and_says_so(csv_file):
    # given
    path = csv_file(VALID_ROWS)
    _run(str(path))

    # when
    out, _err = _run(str(path))

    # then
    assert "already imported" in out
    assert SalaryRecord.objects.count() == 3
    assert ImportBatch.objects.count() == 1


def test_rows_repeated_inside_a_file_are_all_kept(csv_file):
    # given
    path = csv_file([VALID_ROWS[0], VALID_ROWS[0], VALID_ROWS[0], VALID_ROWS[1]])

    # when
    result = salary_import_csv(path=path)

    # then
    assert result.imported_count == 4
    assert SalaryRecord.objects.filter(job_title="Data Scientist").count() == 3


def test_rows_are_inserted_in_chunks(csv_file, monkeypatch):
    # given
    monkeypatch.setattr(importing, "IMPORT_CHUNK_SIZE", 2)
    path = csv_file(VALID_ROWS * 3)
    progress_calls: list[tuple[str, int, int | None]] = []

    # when
    result = salary_import_csv(path=path, progress=lambda *call: progress_calls.append(call))

    # then
    assert result.imported_count == 9
    assert SalaryRecord.objects.count() == 9
    inserts = [call for call in progress_calls if call[0] == importing.STAGE_INSERT]
    assert [advanced for _stage, advanced, _total in inserts] == [2, 2, 2, 2, 1]
    assert {total for _stage, _advanced, total in inserts} == {9}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["work_year", "experience_level"], "missing column"),
        ([*importing.DATASET_COLUMNS, "bonus"], "unexpected column(s): bonus"),
        ([*importing.DATASET_COLUMNS[:-1], "work_year"], "repeated column(s): work_year"),
    ],
)
def test_header_must_name_exactly_the_eleven_columns(csv_file, header, message):
    # given
    path = csv_file([], header=header)

    # when
    with pytest.raises(CommandError) as raised:
        _run(str(path))

    # then
    assert message in str(raised.value)
    assert ImportBatch.objects.count() == 0


def test_wrong_field_count_and_blank_lines(tmp_path):
    # given
    header = ",".join(importing.DATASET_COLUMNS)
    good = ",".join(VALID_ROWS[0])
    path = tmp_path / "ragged.csv"
    path.write_text(f"{header}\n{good}\n\n2024,MI,FT\n{good}\n", encoding="utf-8")

    # when
    with pytest.raises(SalaryImportInvalid) as raised:
        salary_import_csv(path=path)

    # then
    assert [(e.line_number, e.reason) for e in raised.value.row_errors] == [
        (4, "expected 11 fields, got 3")
    ]


def test_empty_or_missing_file_is_a_clear_error(tmp_path):
    # given
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")

    # when / then
    with pytest.raises(ServiceError, match="empty"):
        salary_import_csv(path=empty)
    with pytest.raises(CommandError, match="No such file"):
        _run(str(tmp_path / "absent.csv"))


def test_non_utf8_file_is_refused(tmp_path):
    # given
    path = tmp_path / "latin1.csv"
    header = ",".join(importing.DATASET_COLUMNS)
    path.write_bytes(f"{header}\n".encode() + "2024,MI,FT,Data Scientíst,1,USD".encode("latin-1"))

    # when / then
    with pytest.raises(ServiceError, match="Line 2 is not valid UTF-8"):
        salary_import_csv(path=path)
    assert SalaryRecord.objects.count() == 0


def test_source_demo_marks_rows(csv_file):
    # given
    path = csv_file(VALID_ROWS)

    # when
    _run(str(path), "--source", "demo")

    # then
    assert set(SalaryRecord.objects.values_list("source", flat=True)) == {SalarySource.DEMO}


def test_demo_data_is_idempotent_per_rows_and_seed():
    # given
    first = salary_demo_data_create(rows=50, seed=3)

    # when
    again = salary_demo_data_create(rows=50, seed=3)
    other_seed = salary_demo_data_create(rows=50, seed=4)

    # then
    assert first.imported_count == 50 and not first.already_imported
    assert again.already_imported and again.batch_id == first.batch_id
    assert other_seed.imported_count == 50
    assert SalaryRecord.objects.filter(source=SalarySource.DEMO).count() == 100


def test_make_demo_data_command():
    # given
    out = StringIO()

    # when
    call_command("make_demo_data", "--rows", "40", "--seed", "1", stdout=out)
    call_command("make_demo_data", "--rows", "40", "--seed", "1", stdout=out)

    # then
    assert "Inserted 40 synthetic DEMO rows" in out.getvalue()
    assert "already exists" in out.getvalue()
    assert SalaryRecord.objects.filter(source=SalarySource.DEMO).count() == 40


@pytest.mark.real_data
@pytest.mark.postgres
def test_real_file_imports_every_row_including_duplicates():
    # given
    path = Path(settings.SALARIES_CSV)
    if not path.is_file():
        pytest.skip(f"needs the real salaries.csv at SALARIES_CSV={path}")

    # when
    result = salary_import_csv(path=path)

    # then
    assert result.imported_count == REAL_ROW_COUNT
    assert result.row_errors == ()
    assert SalaryRecord.objects.count() == REAL_ROW_COUNT
    assert salary_import_csv(path=path).already_imported
