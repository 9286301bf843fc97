"""Writes for feedback: a user's verdict and real salary, and the training row it may become.

An actual salary is valuable training data and an obvious poisoning target, so it only becomes
a training row under guards:

* it must be plausible (``MIN_SALARY_USD``..``MAX_SALARY_USD``), else the request is refused;
* more than ``OUTLIER_RATIO`` times the estimate, or less than 1/``OUTLIER_RATIO`` of it, is kept
  as feedback but its training row is held ``pending`` until someone reviews it in the admin;
* each user gets at most ``TRAINING_ROWS_PER_USER_PER_DAY`` new training rows per rolling 24
  hours that count automatically; beyond that, new rows are still stored but held ``pending``
  (nothing the user said is lost, and nothing trains the model without review);
* and unless ``FEEDBACK_AUTO_APPROVE`` is on (it is off by default: sign-up is open, and
  plausible fakes from many accounts are the cheapest way to poison the next model), every row
  is held ``pending`` for a staff review (the admin's feedback review queue) before it trains.

Editing feedback updates the same training row (no duplicates); a changed salary on a row that
was not approved goes back to review; clearing the salary deletes the training row.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from feedback.models import Feedback
from feedback.rules import feedback_fields
from mlmodel.importing import salary_data_changed
from mlmodel.models import ReviewStatus, SalaryRecord, SalarySource
from portal import metrics
from portal.exceptions import NotFound
from predictions.models import Prediction

logger = logging.getLogger(__name__)

OUTLIER_RATIO = 5
TRAINING_ROWS_PER_USER_PER_DAY = 20
TRAINING_CAP_WINDOW = datetime.timedelta(days=1)
TRAINING_CURRENCY = "USD"
PREDICTION_NOT_FOUND = "Prediction not found."
PROFILE_COLUMNS = (
    "work_year",
    "experience_level",
    "employment_type",
    "job_title",
    "employee_residence",
    "remote_ratio",
    "company_location",
    "company_size",
)


def is_outlier(*, actual_salary_usd: int, estimate_usd: int) -> bool:
    """Far from what the model expected: plausible, but a human should look before training."""
    return (
        actual_salary_usd > OUTLIER_RATIO * estimate_usd
        or actual_salary_usd * OUTLIER_RATIO < estimate_usd
    )


def _over_daily_cap(*, user, exclude_feedback_id: int | None) -> bool:
    since = timezone.now() - TRAINING_CAP_WINDOW
    recent = Feedback.objects.filter(
        user=user,
        training_record__isnull=False,
        training_record__created_at__gte=since,
    )
    if exclude_feedback_id is not None:
        recent = recent.exclude(pk=exclude_feedback_id)
    return recent.count() >= TRAINING_ROWS_PER_USER_PER_DAY


def _record_values(prediction: Prediction, salary: int) -> dict[str, object]:
    inputs = prediction.inputs
    return {
        **{column: inputs[column] for column in PROFILE_COLUMNS},
        "salary": salary,
        "salary_currency": TRAINING_CURRENCY,
        "salary_in_usd": salary,
    }


def _sync_training_record(feedback: Feedback, prediction: Prediction, salary: int | None) -> None:
    record = feedback.training_record
    if salary is not None or record is not None:
        transaction.on_commit(salary_data_changed)
    if salary is None:
        if record is not None:
            feedback.training_record = None
            record.delete()
        return
    outlier = is_outlier(actual_salary_usd=salary, estimate_usd=prediction.estimate_usd)
    if record is None:
        held = (
            not settings.FEEDBACK_AUTO_APPROVE
            or outlier
            or _over_daily_cap(user=feedback.user, exclude_feedback_id=feedback.pk)
        )
        feedback.training_record = SalaryRecord.objects.create(
            **_record_values(prediction, salary),
            source=SalarySource.FEEDBACK,
            review_status=ReviewStatus.PENDING if held else ReviewStatus.APPROVED,
        )
        return
    if record.salary_in_usd == salary:
        return
    for name, value in _record_values(prediction, salary).items():
        setattr(record, name, value)
    # A reviewer's "no" (or a pending review) is not undone by editing the number, and without
    # auto-approval a changed number is reviewed again.
    if (
        not settings.FEEDBACK_AUTO_APPROVE
        or outlier
        or record.review_status != ReviewStatus.APPROVED
    ):
        record.review_status = ReviewStatus.PENDING
    record.save()


def feedback_upsert(
    *,
    user,
    prediction_id: int,
    actual_salary_usd: int | None,
    rating: str,
    comment: str = "",
) -> tuple[Feedback, bool]:
    """Create or update the user's feedback on their own prediction; ``(feedback, created)``.

    Another user's prediction is a 404, never a hint that it exists.
    """
    fields = feedback_fields(rating=rating, actual_salary_usd=actual_salary_usd, comment=comment)
    salary, rating, comment = fields.actual_salary_usd, fields.rating, fields.comment
    with transaction.atomic():
        prediction = (
            Prediction.objects.select_for_update()
            .filter(pk=prediction_id, user=user)
            .only("id", "user_id", "inputs", "estimate_usd")
            .first()
        )
        if prediction is None:
            raise NotFound({"detail": [PREDICTION_NOT_FOUND]})
        feedback = (
            Feedback.objects.select_related("training_record").filter(prediction=prediction).first()
        )
        created = feedback is None
        if feedback is None:
            feedback = Feedback(prediction=prediction, user=user)
        feedback.rating = rating
        feedback.comment = comment
        feedback.actual_salary_usd = salary
        _sync_training_record(feedback, prediction, salary)
        feedback.save()
    metrics.feedback_saved(created=created)
    logger.info(
        "feedback saved",
        extra={
            "feedback_id": feedback.pk,
            "prediction_id": prediction.pk,
            "feedback_created": created,
            "training_row": feedback.training_record_id,
            "review_status": feedback.training_record.review_status
            if feedback.training_record
            else None,
        },
    )
    return feedback, created


def feedback_training_review(*, feedback_ids: list[int], approve: bool) -> int:
    """Approve or reject the pending training rows of these feedbacks; returns how many changed.

    Only ``pending`` rows change: a decision already taken is not silently flipped in bulk.
    """
    status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    record_ids = Feedback.objects.filter(
        pk__in=feedback_ids, training_record__isnull=False
    ).values_list("training_record_id", flat=True)
    changed = SalaryRecord.objects.filter(
        pk__in=list(record_ids), review_status=ReviewStatus.PENDING, source=SalarySource.FEEDBACK
    ).update(review_status=status)
    if changed:
        transaction.on_commit(salary_data_changed)
    logger.info("feedback training rows reviewed", extra={"status": status, "count": changed})
    return changed
