"""The one way to write the audit log: every change to what serves goes through here."""

from __future__ import annotations

from collections.abc import Mapping

from mlmodel.models import Experiment, ModelEvent, ModelVersion


def model_event(
    *,
    model_version: ModelVersion,
    action: str,
    actor=None,
    experiment: Experiment | None = None,
    reason: str = "",
    before: Mapping[str, object] | None = None,
    after: Mapping[str, object] | None = None,
    automatic: bool = False,
    **details: object,
) -> ModelEvent:
    """Append one event (never updated or deleted afterwards)."""
    return ModelEvent.objects.create(
        model_version=model_version,
        experiment=experiment,
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        automatic=automatic,
        reason=reason,
        before=dict(before or {}),
        after=dict(after or {}),
        details=details,
    )
