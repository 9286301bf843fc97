"""The admin for retraining: "Retrain now", the progress JSON and page, and the review queue."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from feedback.models import Rating
from feedback.services import feedback_upsert
from mlmodel.models import ReviewStatus, SalaryRecord, SalarySource, TrainingRun, TrainingTrigger
from mlmodel.training_services import salary_demo_data_create
from portal.jobs.models import JobStatus
from tests.predictions.conftest import make_prediction  # noqa: F401

pytestmark = pytest.mark.django_db

RUN_ROWS = 600
RETRAIN = "admin:mlmodel_trainingrun_retrain"
CHANGELIST = "admin:mlmodel_trainingrun_changelist"
REVIEW_QUEUE = "admin:mlmodel_feedbacksalaryreview_changelist"
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


@pytest.fixture
def admin_client(client, django_user_model, password):
    root = django_user_model.objects.create_superuser(username="root", password=password)
    client.force_login(root)
    client.user = root
    return client


def _progress(client, run: TrainingRun) -> dict:
    answer = client.get(reverse("admin:mlmodel_trainingrun_progress", args=[run.pk]))
    assert answer.status_code == 200
    return answer.json()


def test_retrain_now_starts_a_run_and_opens_its_page(admin_client):
    # when staff press "Retrain now" (its task is sent at commit: here it stays pending)
    page = admin_client.get(reverse(CHANGELIST))
    answer = admin_client.post(reverse(RETRAIN))

    # then the button was there, a run was requested by them, and its page opened
    assert b'id="retrain-now"' in page.content
    run = TrainingRun.objects.get()
    assert (run.trigger, run.requested_by, run.status) == (
        TrainingTrigger.ADMIN,
        admin_client.user,
        JobStatus.PENDING,
    )
    assert answer.status_code == 302
    assert answer.url == reverse("admin:mlmodel_trainingrun_change", args=[run.pk])


def test_retrain_now_while_a_run_is_active_says_which(admin_client):
    # given a pending run
    admin_client.post(reverse(RETRAIN))
    first = TrainingRun.objects.get()

    # when the button is pressed again
    answer = admin_client.post(reverse(RETRAIN), follow=True)

    # then nothing new was started, and the message names the first run
    assert TrainingRun.objects.count() == 1
    assert f"Training run #{first.pk} is already pending" in answer.content.decode()


def test_retrain_needs_a_post_and_the_permission(client, django_user_model, password):
    # given staff without the permission to add training runs (but allowed to view them)
    staff = django_user_model.objects.create_user(
        username="viewer", password=password, is_staff=True
    )
    staff.user_permissions.add(Permission.objects.get(codename="view_trainingrun"))
    client.force_login(staff)

    # when / then: no button, a GET is refused, a POST starts nothing
    assert b'id="retrain-now"' not in client.get(reverse(CHANGELIST)).content
    assert client.get(reverse(RETRAIN)).status_code == 405
    answer = client.post(reverse(RETRAIN), follow=True)
    assert "You may not start training runs." in answer.content.decode()
    assert not TrainingRun.objects.exists()


def test_anonymous_and_non_staff_are_sent_to_log_in(client, user):
    run = TrainingRun.objects.create(trigger=TrainingTrigger.COMMAND)
    progress = reverse("admin:mlmodel_trainingrun_progress", args=[run.pk])
    for url in (reverse(CHANGELIST), progress):
        assert client.get(url).status_code == 302
    client.force_login(user)
    assert client.post(reverse(RETRAIN)).status_code == 302
    assert client.get(progress).status_code == 302
    assert TrainingRun.objects.count() == 1


def test_the_run_page_has_a_progress_bar_driven_by_a_static_script(admin_client):
    # given a running run
    run = TrainingRun.objects.create(
        trigger=TrainingTrigger.ADMIN, status=JobStatus.RUNNING, stage="evaluating"
    )
    TrainingRun.objects.filter(pk=run.pk).update(progress_percent=50)

    # when its page is shown
    page = admin_client.get(reverse("admin:mlmodel_trainingrun_change", args=[run.pk]))

    # then it holds the bar at 50 %, and its script is a file (the CSP allows no inline script)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<progress max="100" value="50"' in html
    assert "/static/js/training_run_progress.js" in html
    assert all(" src=" in tag for tag in SCRIPT_TAG.findall(html))
    assert _progress(admin_client, run) | {"stage_seconds": {}} == {
        "id": run.pk,
        "status": JobStatus.RUNNING,
        "finished": False,
        "stage": "evaluating",
        "progress_percent": 50,
        "message": "",
        "stage_seconds": {},
        "model_version": None,
        "active_version": None,
        "held_out_rows": None,
        "gate_passed": None,
        "gate_reasons": [],
        "comparison": [],
    }


def test_a_finished_run_shows_the_candidate_beside_the_champion(
    admin_client, active_model_version, fast_training, settings, django_capture_on_commit_callbacks
):
    # given rows, and a run that runs as it commits (eager)
    settings.TRAINING_MIN_ROWS = RUN_ROWS // 2
    salary_demo_data_create(rows=RUN_ROWS, seed=8)
    SalaryRecord.objects.update(source=SalarySource.IMPORT)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse(RETRAIN))
    run = TrainingRun.objects.get()

    # when its progress and page are read
    state = _progress(admin_client, run)
    page = admin_client.get(reverse("admin:mlmodel_trainingrun_change", args=[run.pk]))

    # then both show the candidate's metrics beside the champion's, row by row
    assert state["finished"] is True and state["progress_percent"] == 100, state["message"]
    assert state["model_version"] == run.model_version.version
    assert state["active_version"] == active_model_version.version
    labels = [row[0] for row in state["comparison"]]
    assert labels[0] == "MAE" and "Interval coverage" in labels
    assert all(
        row[1].startswith(("$", "0", "1", "-")) or "%" in row[1] for row in state["comparison"]
    )
    html = page.content.decode()
    assert f'beside the champion <span data-role="champion">v{active_model_version.version}' in html
    assert state["comparison"][0][1] in html and state["comparison"][0][2] in html


# --- the review queue ---
@pytest.fixture
def pending_feedback(user, make_prediction):  # noqa: F811
    """Two feedbacks with a salary: without auto-approval both wait for review."""
    made = []
    for salary in (150_000, 95_000):
        prediction = make_prediction(user)
        feedback, _ = feedback_upsert(
            user=user,
            prediction_id=prediction.pk,
            actual_salary_usd=salary,
            rating=Rating.ABOUT_RIGHT,
        )
        made.append(feedback)
    return made


def test_feedback_waits_for_review_unless_auto_approval_is_on(user, make_prediction, settings):  # noqa: F811
    # given auto-approval off (the default), then on
    prediction = make_prediction(user)
    held, _ = feedback_upsert(
        user=user, prediction_id=prediction.pk, actual_salary_usd=120_000, rating="about_right"
    )
    settings.FEEDBACK_AUTO_APPROVE = True
    other = make_prediction(user)
    approved, _ = feedback_upsert(
        user=user, prediction_id=other.pk, actual_salary_usd=120_000, rating="about_right"
    )

    # then the first waits for review, the second counts at once
    assert held.training_record.review_status == ReviewStatus.PENDING
    assert approved.training_record.review_status == ReviewStatus.APPROVED


def test_the_queue_shows_the_prediction_beside_the_reported_salary(admin_client, pending_feedback):
    # when the queue is opened (pending rows by default)
    page = admin_client.get(reverse(REVIEW_QUEUE))

    # then each pending row shows the reported salary and the prediction it answers
    html = page.content.decode()
    assert page.status_code == 200
    for feedback in pending_feedback:
        prediction = feedback.prediction
        assert f"${feedback.actual_salary_usd:,}" in html
        assert f"${prediction.estimate_usd:,}" in html
        assert f"${prediction.interval_low_usd:,} – ${prediction.interval_high_usd:,}" in html


def test_bulk_approve_and_reject_decide_what_trains(admin_client, pending_feedback):
    # given two pending feedback rows
    first, second = (feedback.training_record for feedback in pending_feedback)

    # when staff approve one and reject the other in bulk actions
    for action, record in (("approve_selected", first), ("reject_selected", second)):
        answer = admin_client.post(
            reverse(REVIEW_QUEUE), {"action": action, "_selected_action": [record.pk]}
        )
        assert answer.status_code == 302

    # then the rows changed, and the queue (pending by default) is empty
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.review_status, second.review_status) == (
        ReviewStatus.APPROVED,
        ReviewStatus.REJECTED,
    )
    remaining = admin_client.get(reverse(REVIEW_QUEUE)).content.decode()
    everything = admin_client.get(reverse(REVIEW_QUEUE), {"review": "all"}).content.decode()
    for record in (first, second):
        checkbox = f'name="_selected_action" value="{record.pk}"'
        assert checkbox not in remaining and checkbox in everything


def test_staff_without_the_review_permission_get_no_actions(
    client, django_user_model, password, pending_feedback
):
    # given staff who may only view the queue
    staff = django_user_model.objects.create_user(
        username="viewer", password=password, is_staff=True
    )
    staff.user_permissions.add(Permission.objects.get(codename="view_feedbacksalaryreview"))
    client.force_login(staff)
    record = pending_feedback[0].training_record

    # when they try to approve
    page = client.get(reverse(REVIEW_QUEUE))
    client.post(
        reverse(REVIEW_QUEUE), {"action": "approve_selected", "_selected_action": [record.pk]}
    )

    # then there is no such action and nothing changed
    assert page.status_code == 200 and "approve_selected" not in page.content.decode()
    record.refresh_from_db()
    assert record.review_status == ReviewStatus.PENDING
