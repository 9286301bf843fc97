"""Batch CSV reading and writing (pure: no database)."""

import csv
import io

import jsonschema_rs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlmodel.core.profile import PROFILE_FIELDS
from predictions import batch

HEADER = ",".join(PROFILE_FIELDS)
GOOD = "Data Scientist,SE,FT,US,US,0,M,2024"
GOOD_2 = "ML Engineer,MI,FT,DE,DE,100,L,2023"


def _csv(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def test_read_table_counts_rows_and_normalises_the_header():
    # given a header in another case with spaces, and an extra salary column
    data = _csv(
        " Job_Title ," + ",".join(PROFILE_FIELDS[1:]) + ",salary", GOOD + ",1", GOOD_2 + ",2"
    )

    # when
    table = batch.read_table(data, max_rows=10)

    # then
    assert table.columns[0] == "job_title"
    assert table.columns[-1] == "salary"
    assert table.row_count == 2
    assert [record.line for record in table.records] == [2, 3]


def test_read_table_accepts_a_byte_order_mark():
    # given a file saved by Excel as "CSV UTF-8"
    data = b"\xef\xbb\xbf" + _csv(HEADER, GOOD)

    # when
    table = batch.read_table(data, max_rows=10)

    # then
    assert table.columns[0] == "job_title"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (_csv(HEADER), "no data rows"),
        (_csv("job_title,salary", "x,1"), "missing required column"),
        (_csv(HEADER + ",job_title", GOOD + ",x"), "twice"),
        ("job_title;Größe\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_read_table_refuses_unusable_files_with_a_reason(data, message):
    # when / then
    with pytest.raises(batch.BatchFileError, match=message) as caught:
        batch.read_table(data, max_rows=10)
    assert not caught.value.too_large


def test_read_table_flags_too_many_rows_as_too_large():
    # given three rows where two are allowed
    data = _csv(HEADER, GOOD, GOOD, GOOD)

    # when / then
    with pytest.raises(batch.BatchFileError) as caught:
        batch.read_table(data, max_rows=2)
    assert caught.value.too_large


def test_line_numbers_follow_the_file_across_blank_lines_and_quoted_newlines():
    # given a blank line and a title with a quoted line break
    data = _csv(
        HEADER, GOOD, "", '"Data\nScientist",SE,FT,US,US,0,M,2024', "Nope,SE,FT,XX,US,0,M,2024"
    )

    # when
    rows = list(batch.parse_rows(batch.read_table(data, max_rows=10)))

    # then the third record starts on line 4 and the bad country is reported on line 6
    assert [row.line for row in rows] == [2, 4, 6]
    assert rows[2].profile is None
    assert "company_location" in rows[2].errors


def test_parse_rows_reports_every_bad_field_and_keeps_good_rows():
    # given one good row and one with three bad fields
    data = _csv(HEADER, GOOD, "Data Scientist,XX,FT,US,US,33,M,1900")

    # when
    good, bad = batch.parse_rows(batch.read_table(data, max_rows=10))

    # then
    assert good.profile is not None and good.profile.company_location == "US"
    assert bad.profile is None
    assert set(bad.errors) == {"experience_level", "remote_ratio", "work_year"}


def test_a_row_with_the_wrong_number_of_fields_is_a_row_error():
    # given an unquoted comma in the job title
    data = _csv(HEADER, "Data Scientist, Senior,SE,FT,US,US,0,M,2024")

    # when
    (row,) = batch.parse_rows(batch.read_table(data, max_rows=10))

    # then
    assert row.profile is None
    assert "Expected 8 fields" in row.errors[batch.ROW_SHAPE_ERROR_KEY][0]


def test_result_writer_echoes_inputs_and_appends_estimates_or_errors():
    # given a good and a bad row
    data = _csv(HEADER + ",salary", GOOD + ",150000", "=cmd(),SE,FT,XX,US,0,M,2024,1")
    table = batch.read_table(data, max_rows=10)
    good, bad = batch.parse_rows(table)
    writer = batch.ResultWriter(table.columns)

    # when
    writer.write(good, batch.RowEstimate(150_000, 100_000, 220_000, 0.9, 3))
    writer.write(bad, None)
    rows = list(csv.DictReader(io.StringIO(writer.getvalue().decode())))

    # then
    assert list(rows[0]) == ["line", *PROFILE_FIELDS, "salary", *batch.RESULT_COLUMNS]
    assert rows[0]["estimate_usd"] == "150000"
    assert rows[0]["model_version"] == "3"
    assert rows[0]["error"] == ""
    assert rows[1]["line"] == "3"
    assert rows[1]["estimate_usd"] == ""
    assert rows[1]["error"].startswith("Line 3: company_location:")
    # a formula-looking cell is neutralised for spreadsheets
    assert rows[1]["job_title"] == "'=cmd()"


def test_result_file_name_is_ascii_and_keeps_the_stem():
    assert batch.result_file_name("Gehälter 2024.csv", 7) == "Geh-lter-2024-predictions-7.csv"
    assert batch.result_file_name('"; rm -rf', 8) == "rm--rf-predictions-8.csv"


CSV_FILE_SCHEMA = jsonschema_rs.Draft4Validator(
    {"type": "string", "pattern": batch.CSV_FILE_PATTERN}
)


@settings(max_examples=200, derandomize=True, database=None)
@given(text=st.from_regex(batch.CSV_FILE_PATTERN, fullmatch=True))
def test_every_file_the_schema_pattern_allows_is_read_and_answered_row_by_row(text):
    # given a file the API schema promises is accepted (as clients read the pattern)
    assume(CSV_FILE_SCHEMA.is_valid(text))

    # when
    table = batch.read_table(text.encode("utf-8"), max_rows=10_000)

    # then it has rows, and each one is predicted or reported with its errors
    rows = list(batch.parse_rows(table))
    assert rows and len(rows) == table.row_count
    assert all((row.profile is None) == bool(row.errors) for row in rows)


@pytest.mark.parametrize(
    "text",
    [
        "",
        HEADER,
        HEADER + "\n",
        HEADER + "\n , ,\t\n",
        HEADER + '\n"",""\n',
        "job_title\nData Scientist\n",
        HEADER + "\nData Scientist\x00\n",
    ],
)
def test_the_schema_pattern_refuses_files_read_table_refuses(text):
    assert not CSV_FILE_SCHEMA.is_valid(text)
    with pytest.raises(batch.BatchFileError):
        batch.read_table(text.encode("utf-8"), max_rows=10)
