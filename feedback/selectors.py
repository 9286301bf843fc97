"""Reads for feedback, always scoped to its owner."""

from __future__ import annotations

from django.db.models import QuerySet

from feedback.models import Feedback


def feedback_list_for_user(*, user) -> QuerySet[Feedback]:
    """The user's own feedback, most recently changed first."""
    return (
        Feedback.objects.filter(user=user)
        .select_related("prediction", "training_record")
        .order_by("-updated_at", "-id")
    )


def feedback_get_for_prediction(*, user, prediction_id: int) -> Feedback | None:
    """The user's feedback on one of their predictions, if they left any."""
    return feedback_list_for_user(user=user).filter(prediction_id=prediction_id).first()
