"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server."""

import os

import pytest

from tests.conftest import CHROMIUM_PATH, FAST_TRAINING_PARAMS
from tests.mlmodel.test_training_worker import workers_on_a_private_queue

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls made by the
# test itself (fixtures) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM_PATH, "args": CHROMIUM_FLAGS}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def page(page):
    """Fail fast: a missing element should not cost the suite 30 s per assertion."""
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def worker(transactional_db, settings):
    """One real worker on a private queue; this process (the live server) sends tasks to it."""
    with workers_on_a_private_queue(settings, prefix="training-browser") as workers:
        workers.start()
        yield workers
        workers.remove_logs()


@pytest.fixture
def fast_runs(monkeypatch):
    """Runs started from the admin train with the small test parameters (seconds, not a minute)."""
    from mlmodel import training_runs

    real = training_runs.training_run_request

    def fast(**kwargs):
        return real(**{"params": FAST_TRAINING_PARAMS, **kwargs})

    monkeypatch.setattr("mlmodel.admin_training.training_run_request", fast)
