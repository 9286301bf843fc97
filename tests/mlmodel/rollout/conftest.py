"""Rows the rollout tests build often."""

from django.utils import timezone

from mlmodel.models import ArmRole, Assignment, Experiment


def record_split(experiment: Experiment, *, champion_units: int, challenger_units: int) -> None:
    """Recorded assignments: ``champion_units`` users in the champion's arm, then
    ``challenger_units`` in the challenger's (e.g. 600/400 on a 50/50 split: a mismatch)."""
    champion = experiment.arms.get(role=ArmRole.CHAMPION)
    challenger = experiment.arms.get(role=ArmRole.CHALLENGER)
    now = timezone.now()
    Assignment.objects.bulk_create(
        Assignment(
            experiment=experiment,
            phase=experiment.phase,
            unit=f"user:{n}",
            slot=n,
            arm=arm,
            model_version_id=arm.model_version_id,
            exposures=1,
            first_exposed_at=now,
            last_exposed_at=now,
        )
        for n in range(champion_units + challenger_units)
        for arm in [champion if n < champion_units else challenger]
    )
