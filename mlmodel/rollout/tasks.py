"""Celery entry points of the rollout: thin, by id, each calling one service.

Registered on the project's app by name (``mlmodel.rollout.<function>``); ``portal.celery``
lists this package so workers import it, and web processes never do.
"""

from mlmodel.rollout import guardrails, metrics, services
from portal.celery import app


@app.task(name=services.REASSIGN_TASK)
def experiment_reassign_task(experiment_id: int) -> int:
    """After a reweight: move the recorded assignments whose slot changed arm."""
    return services.experiment_reassign(experiment_id=experiment_id)


@app.task(name="mlmodel.rollout.arm_daily_stats_refresh_task")
def arm_daily_stats_refresh_task() -> int:
    """Beat: rebuild the dashboard's rollup for recent days and days with new feedback."""
    return len(metrics.arm_daily_stats_refresh())


@app.task(name="mlmodel.rollout.guardrails_run_task")
def guardrails_run_task() -> str:
    """Beat: the staged-ramp policy (does nothing unless GUARDRAILS_ENABLED)."""
    metrics.arm_daily_stats_refresh()
    return guardrails.guardrails_run().action
