"""import_salaries on files with many bad rows: the count and the first few reasons; Kosovo."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mlmodel.management.commands.import_salaries import SHOWN_ROW_ERRORS
from mlmodel.models import SalaryRecord
from tests.mlmodel.conftest import VALID_ROWS

pytestmark = pytest.mark.django_db
BAD_ROWS = 12


def _rows_with_bad_ones() -> list[list[str]]:
    bad = [*VALID_ROWS[0]]
    bad[1] = "ZZ"
    return [VALID_ROWS[0], *([bad] * BAD_ROWS), VALID_ROWS[1]]


def test_skip_invalid_shows_the_count_and_only_the_first_reasons(csv_file):
    # given
    path = csv_file(_rows_with_bad_ones())
    out, err = StringIO(), StringIO()
    # when
    call_command("import_salaries", str(path), "--skip-invalid", stdout=out, stderr=err)
    # then
    lines = err.getvalue().splitlines()
    assert len(lines) == SHOWN_ROW_ERRORS + 1
    assert lines[0].startswith("skipped line 3: experience_level")
    assert lines[-1] == f"… and {BAD_ROWS - SHOWN_ROW_ERRORS:,} more invalid row(s)"
    assert f"skipped {BAD_ROWS:,} invalid row(s)" in out.getvalue()
    assert SalaryRecord.objects.count() == 2


def test_aborted_import_shows_the_count_and_only_the_first_reasons(csv_file):
    # given
    path = csv_file(_rows_with_bad_ones())
    err = StringIO()
    # when
    with pytest.raises(CommandError, match=f"{BAD_ROWS} invalid row"):
        call_command("import_salaries", str(path), stdout=StringIO(), stderr=err)
    # then
    assert len(err.getvalue().splitlines()) == SHOWN_ROW_ERRORS + 1
    assert SalaryRecord.objects.count() == 0


def test_kosovo_rows_are_imported(csv_file):
    # given
    kosovo = [*VALID_ROWS[0]]
    kosovo[7], kosovo[9] = "XK", "Kosovo"
    path = csv_file([kosovo])
    # when
    call_command("import_salaries", str(path), stdout=StringIO(), stderr=StringIO())
    # then
    record = SalaryRecord.objects.get()
    assert (record.employee_residence, record.company_location) == ("XK", "XK")
