"""The feedback box on the result page, the feedback list, and the admin review actions."""

import re

import pytest
from django.urls import reverse

from feedback.models import Feedback
from mlmodel.models import ReviewStatus, SalaryRecord

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"


def _submit_url(prediction) -> str:
    return reverse("feedback:submit", args=[prediction.pk])


def test_feedback_box_saves_and_comments_come_back_escaped(auth_client, prediction):
    # when
    response = auth_client.post(
        _submit_url(prediction),
        {"rating": "too_high", "actual_salary_usd": prediction.estimate_usd, "comment": SCRIPT},
    )

    # then
    detail_url = reverse("predictions:detail", args=[prediction.pk])
    assert response.status_code == 302
    assert response["Location"] == detail_url + "#feedback"
    feedback = Feedback.objects.get()
    assert feedback.comment == SCRIPT
    assert feedback.training_record is not None
    for url in (detail_url, reverse("feedback:list")):
        html = auth_client.get(url).content.decode()
        assert SCRIPT not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_editing_in_the_box_updates_the_same_feedback(auth_client, prediction):
    # given
    auth_client.post(
        _submit_url(prediction),
        {"rating": "too_high", "actual_salary_usd": prediction.estimate_usd},
    )

    # when
    auth_client.post(_submit_url(prediction), {"rating": "about_right", "actual_salary_usd": ""})

    # then
    feedback = Feedback.objects.get()
    assert feedback.rating == "about_right"
    assert feedback.actual_salary_usd is None
    assert SalaryRecord.objects.count() == 0
    page = auth_client.get(reverse("predictions:detail", args=[prediction.pk])).content.decode()
    assert "Update feedback" in page
    assert re.search(r'<input type="radio" name="rating" value="about_right"[^>]*checked', page)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"rating": "too_low", "actual_salary_usd": "-5"}, "actual_salary_usd", "between $1,000"),
        ({"rating": "too_low", "comment": "x" * 2001}, "comment", "at most 2000 characters"),
        ({"actual_salary_usd": "90000"}, "rating", "This field is required"),
    ],
)
def test_invalid_feedback_is_shown_on_the_result_page(
    auth_client, prediction, data, field, message
):
    # when
    response = auth_client.post(_submit_url(prediction), data)

    # then
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert "We expect 90% of salaries" in html
    assert Feedback.objects.count() == 0


def test_feedback_box_on_another_users_prediction_is_404(auth_client, other_user, make_prediction):
    theirs = make_prediction(other_user)
    response = auth_client.post(_submit_url(theirs), {"rating": "too_low"})
    assert response.status_code == 404
    assert Feedback.objects.count() == 0


def test_admin_can_approve_a_held_training_row(client, django_user_model, user, prediction):
    # given an outlier held for review, and a staff reviewer
    auth = {"rating": "too_low", "actual_salary_usd": prediction.estimate_usd * 8}
    client.force_login(user)
    client.post(_submit_url(prediction), auth)
    feedback = Feedback.objects.get()
    assert feedback.training_record.review_status == ReviewStatus.PENDING
    admin = django_user_model.objects.create_superuser(username="root", password="x" * 20)
    client.force_login(admin)

    # when
    response = client.post(
        reverse("admin:feedback_feedback_changelist"),
        {"action": "approve_training_rows", "_selected_action": [feedback.pk]},
        follow=True,
    )

    # then
    assert response.status_code == 200
    assert "1 pending training row(s) approved." in response.content.decode()
    feedback.training_record.refresh_from_db()
    assert feedback.training_record.review_status == ReviewStatus.APPROVED


def test_admin_pages_render_without_blobs(admin_client, user, prediction):
    from predictions.services import batch_job_create
    from tests.predictions.conftest import GOOD_ROW, csv_bytes

    job = batch_job_create(user=user, file_name="a.csv", data=csv_bytes([GOOD_ROW]))
    for url in (
        reverse("admin:predictions_prediction_changelist"),
        reverse("admin:predictions_prediction_change", args=[prediction.pk]),
        reverse("admin:predictions_batchjob_changelist"),
        reverse("admin:predictions_batchjob_change", args=[job.pk]),
        reverse("admin:feedback_feedback_changelist"),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    page = admin_client.get(reverse("admin:predictions_batchjob_change", args=[job.pk]))
    assert GOOD_ROW not in page.content.decode()
    assert "Input file size" in page.content.decode()
