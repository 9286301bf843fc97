"""``manage.py retrain``: runs (in-process without a broker), waits, reports, fails loudly."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mlmodel.models import SalaryRecord, SalarySource, TrainingRun, TrainingTrigger
from mlmodel.training_services import salary_demo_data_create
from portal.jobs.models import JobStatus

RUN_ROWS = 600


@pytest.fixture
def rows(settings):
    settings.TRAINING_MIN_ROWS = RUN_ROWS // 2
    settings.TRAINING_GATE_COVERAGE_RANGE = (0.0, 1.0)
    salary_demo_data_create(rows=RUN_ROWS, seed=9)
    SalaryRecord.objects.update(source=SalarySource.IMPORT)


@pytest.mark.django_db(transaction=True)
def test_retrain_runs_waits_and_reports_the_comparison(rows, active_model_version, fast_training):
    # when the command runs without a broker (eager: the run executes in this process)
    out = StringIO()
    call_command("retrain", "--seed", "5", stdout=out)

    # then the run succeeded and the report compares the candidate with the champion
    run = TrainingRun.objects.get()
    assert (run.status, run.trigger, run.seed) == (JobStatus.SUCCEEDED, TrainingTrigger.COMMAND, 5)
    text = out.getvalue()
    assert f"Training run #{run.pk}" in text
    assert "stages: loading data" in text
    assert (
        f"candidate v{run.model_version.version} vs champion v{active_model_version.version}"
        in text
    )
    assert "MAE" in text and "Interval coverage" in text
    assert "passed its gates" in text


@pytest.mark.django_db(transaction=True)
def test_retrain_exits_non_zero_with_the_reason_when_the_run_fails(settings):
    # given too few rows
    settings.TRAINING_MIN_ROWS = 50
    salary_demo_data_create(rows=10, seed=9)

    # when / then
    with pytest.raises(CommandError, match="failed: Too few training rows: 10 approved"):
        call_command("retrain", stdout=StringIO())
    assert TrainingRun.objects.get().status == JobStatus.FAILED


@pytest.mark.django_db
def test_retrain_no_wait_returns_at_once(rows):
    # when (inside a test transaction the task is not sent: the run stays pending)
    out = StringIO()
    call_command("retrain", "--no-wait", stdout=out)

    # then it printed the queued run and returned
    run = TrainingRun.objects.get()
    assert out.getvalue().strip() == f"Training run #{run.pk} pending."


@pytest.mark.django_db
def test_retrain_is_refused_while_another_run_is_active(rows):
    # given a running run
    running = TrainingRun.objects.create(trigger=TrainingTrigger.API, status=JobStatus.RUNNING)

    # when / then
    with pytest.raises(CommandError, match=f"Training run #{running.pk} is already running"):
        call_command("retrain", "--no-wait", stdout=StringIO())
    assert TrainingRun.objects.count() == 1
