"""The Celery app: tasks are named after their module, so one can be found by its name alone."""

import os
import subprocess
import sys

import pytest

from portal.celery import app, registered_task, task_packages
from tests.processes import REPO_ROOT

# A process without a broker that must run the batch task inline; it prints the project's
# tasks modules it imported.
EAGER_PROCESS = """
import sys, django
django.setup()
from portal.celery import registered_task, task_packages
registered_task("predictions.batch_job_run_task")
packages = set(task_packages())
print(sorted(m for m in sys.modules if m.endswith(".tasks") and m[: -len(".tasks")] in packages))
"""


def _project_tasks() -> dict:
    app.autodiscover_tasks(task_packages, force=True)
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_task_is_named_package_dot_function_after_its_tasks_module():
    # given every tasks module imported
    tasks = _project_tasks()

    # then each name says where its function lives
    assert {"predictions.batch_job_run_task", "portal.jobs.job_fail_stale_task"} <= set(tasks)
    for name, task in tasks.items():
        package, _, module = task.__module__.rpartition(".")
        assert module == "tasks", name
        assert name == f"{package}.{task.__name__}"


def test_an_unknown_task_name_is_a_lookup_error():
    with pytest.raises(LookupError, match="no Celery task"):
        registered_task("portal.no_such_task")
    with pytest.raises(LookupError, match="no Celery task"):
        registered_task("no_such_package.some_task")


def test_running_a_task_inline_imports_only_its_own_tasks_module():
    # given a fresh process (eager: no broker) that must run the batch task
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "TEST_CELERY_EAGER": "1"}

    # when it looks the task up by name
    process = subprocess.run(
        [sys.executable, "-c", EAGER_PROCESS],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    # then it imported that task's module and no other (not the training tasks)
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "['predictions.tasks']"
