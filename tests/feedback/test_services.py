"""Feedback upsert and its training row: one row per feedback, guarded against poisoning."""

import pytest

from feedback import services
from feedback.models import Feedback
from mlmodel.models import ReviewStatus, SalaryRecord, SalarySource
from portal.exceptions import NotFound, ServiceError

pytestmark = pytest.mark.django_db


def _upsert(user, prediction, **overrides):
    values = {"actual_salary_usd": None, "rating": "about_right", "comment": ""}
    values.update(overrides)
    return services.feedback_upsert(user=user, prediction_id=prediction.pk, **values)


def test_create_then_edit_keeps_one_feedback_and_one_training_row(user, prediction, settings):
    # given plausible salaries approved without review (off by default: issue 9)
    settings.FEEDBACK_AUTO_APPROVE = True
    salary = prediction.estimate_usd + 5_000
    first, created = _upsert(user, prediction, actual_salary_usd=salary, rating="too_low")

    # when
    second, created_again = _upsert(
        user, prediction, actual_salary_usd=salary + 1_000, rating="about_right", comment="ok"
    )

    # then
    assert (created, created_again) == (True, False)
    assert first.pk == second.pk
    assert Feedback.objects.count() == 1
    assert SalaryRecord.objects.count() == 1
    record = SalaryRecord.objects.get()
    assert second.training_record == record
    assert record.salary_in_usd == record.salary == salary + 1_000
    assert record.salary_currency == "USD"
    assert record.source == SalarySource.FEEDBACK
    assert record.review_status == ReviewStatus.APPROVED
    for column, value in prediction.inputs.items():
        assert getattr(record, column) == value
    stored = Feedback.objects.get()
    assert (stored.rating, stored.comment) == ("about_right", "ok")


def test_clearing_the_salary_removes_the_training_row(user, prediction):
    # given
    _upsert(user, prediction, actual_salary_usd=prediction.estimate_usd)

    # when
    feedback, _ = _upsert(user, prediction, actual_salary_usd=None)

    # then
    assert feedback.training_record is None
    assert Feedback.objects.get().training_record is None
    assert SalaryRecord.objects.count() == 0


def test_an_outlier_salary_is_kept_but_held_for_review(user, prediction):
    # when the salary is more than five times the estimate
    feedback, _ = _upsert(user, prediction, actual_salary_usd=prediction.estimate_usd * 6)

    # then
    assert feedback.actual_salary_usd == prediction.estimate_usd * 6
    assert feedback.training_record.review_status == ReviewStatus.PENDING


def test_a_tiny_salary_is_an_outlier_too(user, prediction):
    feedback, _ = _upsert(user, prediction, actual_salary_usd=prediction.estimate_usd // 6)
    assert feedback.training_record.review_status == ReviewStatus.PENDING


def test_editing_a_rejected_row_sends_it_back_to_review_not_to_training(user, prediction):
    # given a row a reviewer rejected
    _upsert(user, prediction, actual_salary_usd=prediction.estimate_usd)
    SalaryRecord.objects.update(review_status=ReviewStatus.REJECTED)

    # when the user changes the number
    _upsert(user, prediction, actual_salary_usd=prediction.estimate_usd + 1_000)

    # then
    assert SalaryRecord.objects.get().review_status == ReviewStatus.PENDING


def test_beyond_the_daily_cap_new_training_rows_are_held(
    user, make_prediction, monkeypatch, settings
):
    # given a cap of two rows a day, and auto-approval on (it is off by default: issue 9)
    settings.FEEDBACK_AUTO_APPROVE = True
    monkeypatch.setattr(services, "TRAINING_ROWS_PER_USER_PER_DAY", 2)
    predictions = [make_prediction(user) for _ in range(3)]

    # when
    statuses = [
        _upsert(user, p, actual_salary_usd=p.estimate_usd)[0].training_record.review_status
        for p in predictions
    ]

    # then
    assert statuses == [ReviewStatus.APPROVED, ReviewStatus.APPROVED, ReviewStatus.PENDING]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"actual_salary_usd": -5}, "actual_salary_usd"),
        ({"actual_salary_usd": 999}, "actual_salary_usd"),
        ({"actual_salary_usd": 5_000_001}, "actual_salary_usd"),
        ({"rating": "meh"}, "rating"),
        ({"comment": "x" * 50_000}, "comment"),
    ],
)
def test_invalid_feedback_is_refused_and_nothing_is_written(user, prediction, overrides, field):
    with pytest.raises(ServiceError) as caught:
        _upsert(user, prediction, **overrides)
    assert field in caught.value.errors
    assert Feedback.objects.count() == 0
    assert SalaryRecord.objects.count() == 0


def test_feedback_on_another_users_prediction_is_404(other_user, prediction):
    with pytest.raises(NotFound):
        _upsert(other_user, prediction, actual_salary_usd=100_000)
    assert Feedback.objects.count() == 0


def test_review_approves_or_rejects_only_pending_rows(user, make_prediction, settings):
    # given one pending (outlier) and one approved row (auto-approval on; off by default)
    settings.FEEDBACK_AUTO_APPROVE = True
    outlier_prediction, normal_prediction = make_prediction(user), make_prediction(user)
    held, _ = _upsert(
        user, outlier_prediction, actual_salary_usd=outlier_prediction.estimate_usd * 10
    )
    normal, _ = _upsert(user, normal_prediction, actual_salary_usd=normal_prediction.estimate_usd)

    # when
    changed = services.feedback_training_review(feedback_ids=[held.pk, normal.pk], approve=False)

    # then
    assert changed == 1
    held.training_record.refresh_from_db()
    normal.training_record.refresh_from_db()
    assert held.training_record.review_status == ReviewStatus.REJECTED
    assert normal.training_record.review_status == ReviewStatus.APPROVED
