"""The guardrail policy (off unless ``GUARDRAILS_ENABLED``): a staged ramp with automatic stops.

Run by Celery beat every ``GUARDRAILS_INTERVAL_SECONDS`` on the running experiment when it has
exactly one challenger. Each run decides one of: stop (SRM fired, or the challenger's feedback
MAE or error rate is worse than the champion's beyond the configured margins), step up to the
next weight of ``GUARDRAILS_RAMP_STEPS`` (after ``GUARDRAILS_STEP_MIN_SECONDS`` at this weight and
``GUARDRAILS_STEP_MIN_ACTUALS`` feedback salaries on each side), promote (at 100 %), or hold.
Every action is an audit event marked automatic, with the figures behind it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from mlmodel.models import ArmRole, Experiment, ExperimentStatus
from mlmodel.rollout import services
from mlmodel.rollout.metrics import ArmMetrics, arm_metrics, experiment_sample_ratio

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GuardrailDecision:
    action: str  # "off", "none", "hold", "stop", "step", "promote"
    reason: str
    weight: int | None = None


def _worse(challenger: ArmMetrics, champion: ArmMetrics) -> str | None:
    """Why the challenger must stop, or None."""
    minimum = settings.GUARDRAILS_STEP_MIN_ACTUALS
    if challenger.actuals >= minimum and champion.actuals >= minimum:
        limit = champion.mae * (1 + settings.GUARDRAILS_MAX_MAE_REGRESSION)
        if challenger.mae > limit:
            return (
                f"challenger feedback MAE ${challenger.mae:,.0f} is worse than the champion's "
                f"${champion.mae:,.0f} by more than {settings.GUARDRAILS_MAX_MAE_REGRESSION:.0%}"
            )
    margin = settings.GUARDRAILS_MAX_ERROR_RATE_INCREASE
    if (challenger.error_rate or 0) - (champion.error_rate or 0) > margin:
        return (
            f"challenger error rate {challenger.error_rate:.2%} exceeds the champion's "
            f"{(champion.error_rate or 0):.2%} by more than {margin:.2%}"
        )
    return None


def guardrails_run(*, experiment: Experiment | None = None) -> GuardrailDecision:
    """Judge the running experiment once and act on it."""
    if not settings.GUARDRAILS_ENABLED:
        return GuardrailDecision("off", "GUARDRAILS_ENABLED is off")
    experiment = experiment or Experiment.objects.filter(status=ExperimentStatus.RUNNING).first()
    if experiment is None or experiment.status != ExperimentStatus.RUNNING:
        return GuardrailDecision("none", "no experiment is running")
    arms = list(experiment.arms.select_related("model_version"))
    champions = [arm for arm in arms if arm.role == ArmRole.CHAMPION]
    challengers = [arm for arm in arms if arm.role == ArmRole.CHALLENGER]
    if len(challengers) != 1 or len(champions) != 1:
        return GuardrailDecision("none", "the ramp runs on experiments with one challenger")
    champion, challenger = champions[0], challengers[0]
    metrics = arm_metrics(experiment=experiment)
    srm = experiment_sample_ratio(experiment=experiment)
    stop_reason = (
        f"sample-ratio mismatch (p = {srm.p_value:.2g}, observed {srm.observed})"
        if srm.flagged
        else _worse(metrics[challenger.pk], metrics[champion.pk])
    )
    if stop_reason:
        services.experiment_stop(
            experiment_id=experiment.pk, reason=f"guardrail: {stop_reason}", automatic=True
        )
        logger.warning("guardrail stopped experiment %s: %s", experiment.pk, stop_reason)
        return GuardrailDecision("stop", stop_reason)
    waited = (timezone.now() - (experiment.weights_changed_at or timezone.now())).total_seconds()
    minimum = settings.GUARDRAILS_STEP_MIN_ACTUALS
    enough = metrics[challenger.pk].actuals >= minimum and metrics[champion.pk].actuals >= minimum
    if waited < settings.GUARDRAILS_STEP_MIN_SECONDS or not enough:
        return GuardrailDecision(
            "hold",
            f"at {challenger.weight} % for {waited:.0f} s with "
            f"{metrics[challenger.pk].actuals} challenger actuals",
        )
    if challenger.weight >= 100:
        services.experiment_promote(
            experiment_id=experiment.pk,
            model_version=challenger.model_version.version,
            reason="guardrail: the ramp reached 100 % with no regression",
            automatic=True,
        )
        return GuardrailDecision("promote", "the ramp reached 100 %", 100)
    steps = [step for step in settings.GUARDRAILS_RAMP_STEPS if step > challenger.weight]
    weight = steps[0] if steps else 100
    services.experiment_reweight(
        experiment_id=experiment.pk,
        arms=[{"model_version": challenger.model_version.version, "weight": weight}],
        reason=(
            f"guardrail: ramp step {challenger.weight} % -> {weight} % "
            f"(MAE ${metrics[challenger.pk].mae:,.0f} vs ${metrics[champion.pk].mae:,.0f})"
        ),
        automatic=True,
    )
    return GuardrailDecision("step", f"{challenger.weight} % -> {weight} %", weight)
