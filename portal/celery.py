"""The Celery app, configured from Django settings (``CELERY_`` namespace).

Tasks are declared on this app (``@app.task``) and named after where they live: the function
``f`` in ``<package>/tasks.py`` is the task ``"<package>.f"``. Services send tasks by that name
(``portal.jobs.enqueue``) and never import a tasks module.
"""

import importlib
import os

from celery import Celery, Task

from portal import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Every task's outcome (success, failure, retry) is counted, and each worker's heartbeat is
# recorded on the broker for /metrics (portal/metrics.py).
metrics.connect_task_signals()
metrics.connect_worker_signals()


def task_packages() -> list[str]:
    """Packages whose ``tasks`` module holds tasks: every installed app, the project package
    (not an installed app itself) and the rollout package inside ``mlmodel``."""
    from django.apps import apps

    return [*(config.name for config in apps.get_app_configs()), "portal", "mlmodel.rollout"]


# Lazy: a worker imports every tasks module once Django is set up; a web process none.
app.autodiscover_tasks(task_packages)


def registered_task(name: str) -> Task:
    """The task called ``name``, importing the one tasks module its name points to if needed.

    A process without a broker runs tasks inline and so needs their code; importing only that
    module keeps what other tasks need (the training stack) out of a web process.
    """
    if name not in app.tasks:
        module_name = f"{name.rpartition('.')[0]}.tasks"
        try:
            importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if module_name != missing and not module_name.startswith(f"{missing}."):
                raise  # the module exists but something it imports does not
    try:
        return app.tasks[name]
    except KeyError:
        raise LookupError(f"no Celery task is named {name!r}") from None
