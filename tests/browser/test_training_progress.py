"""Staff press "Retrain now" in a real browser; a real Celery worker trains; the bar fills.

The page is never reloaded (a marker set on ``window`` survives): the static script polls the
run's progress and, at 100 %, shows the candidate's metrics beside the champion's.
"""

import re
import uuid

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from mlmodel.models import SalaryRecord, SalarySource, TrainingRun
from mlmodel.training_services import salary_demo_data_create
from portal.celery import app as celery_app
from portal.jobs.models import JobStatus
from tests.conftest import FAST_TRAINING_PARAMS
from tests.mlmodel.test_training_worker import LOCK_SECONDS, MIN_ROWS, Workers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
]

RUN_ROWS = 1_500
RUN_LIMIT_MILLISECONDS = 180_000


@pytest.fixture
def worker(transactional_db, settings):
    """One real worker on a private queue; this process (the live server) sends tasks to it."""
    settings.TRAINING_LOCK_SECONDS = LOCK_SECONDS
    settings.TRAINING_MIN_ROWS = MIN_ROWS
    queue = f"training-browser-{uuid.uuid4().hex[:12]}"
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    workers = Workers(queue)
    try:
        workers.start()
        yield workers
    finally:
        workers.stop_all()
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = saved
        workers.remove_logs()


@pytest.fixture
def fast_runs(monkeypatch):
    """Runs started from the admin train with the small test parameters (seconds, not a minute)."""
    from mlmodel import training_runs

    real = training_runs.training_run_request

    def fast(**kwargs):
        return real(**{"params": FAST_TRAINING_PARAMS, **kwargs})

    monkeypatch.setattr("mlmodel.admin_training.training_run_request", fast)


def test_retrain_now_fills_the_progress_bar_without_a_reload(
    live_server, page: Page, worker, fast_runs, active_model_version, django_user_model, password
):
    # given training rows, a champion, and staff signed in to the admin
    assert settings.CELERY_BROKER_URL
    salary_demo_data_create(rows=RUN_ROWS, seed=6)
    SalaryRecord.objects.update(source=SalarySource.IMPORT)
    django_user_model.objects.create_superuser(username="root", password=password)
    page.goto(live_server.url + "/admin/login/?next=/admin/mlmodel/trainingrun/")
    page.get_by_label("Username").fill("root")
    page.get_by_label(re.compile(r"^Password:?$")).fill(password)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()

    # when they press "Retrain now"
    page.get_by_role("button", name="Retrain now").click()
    bar = page.locator("#training-run-progress progress")
    expect(bar).to_be_visible()
    page.evaluate("window.notReloaded = true")
    started_at = int(bar.get_attribute("value"))

    # then the bar reaches 100 % on the same page, and the comparison appears
    expect(bar).to_have_attribute("value", "100", timeout=RUN_LIMIT_MILLISECONDS)
    expect(page.locator('#training-run-progress [data-role="percent"]')).to_have_text("100 %")
    assert page.evaluate("window.notReloaded") is True
    assert started_at < 100
    run = TrainingRun.objects.get()
    assert run.status == JobStatus.SUCCEEDED, run.message
    table = page.locator("#training-run-comparison")
    expect(table).to_be_visible()
    expect(table.locator('[data-role="champion"]')).to_have_text(f"v{active_model_version.version}")
    expect(table.locator("tbody tr")).to_have_count(5)
    expect(table.locator("tbody tr").first).to_contain_text("MAE")
