"""Stored predictions and batch prediction jobs."""

import datetime

from django.conf import settings
from django.db import models

from portal.jobs.models import Job, JobStatus
from portal.submissions import one_per_submission, stored_submission_field

# JobStatus is the batch job's status too; doors (views, serializers) import it from here.
__all__ = [
    "BatchJob",
    "Channel",
    "JobStatus",
    "PendingExposure",
    "Prediction",
    "ShadowPrediction",
    "TitleMatch",
]


class Channel(models.TextChoices):
    WEB = "web", "Web form"
    API = "api", "API"


class TitleMatch(models.TextChoices):
    """How the model read the job title (``mlmodel.core.taxonomy.MATCH_KINDS``)."""

    EXACT = "exact", "A title in the data"
    NORMALISED = "normalised", "A title in the data, spelled differently"
    FAMILY_RULE = "family_rule", "Not in the data: estimated from its job family"
    UNKNOWN = "unknown", "Not recognised"


class Prediction(models.Model):
    """One answered prediction; stored in the same transaction that answers it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="predictions"
    )
    api_token = models.ForeignKey(
        "accounts.ApiToken", null=True, blank=True, on_delete=models.SET_NULL
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    inputs = models.JSONField(help_text="The validated profile (dataset column names).")
    estimate_usd = models.PositiveIntegerField()
    interval_low_usd = models.PositiveIntegerField()
    interval_high_usd = models.PositiveIntegerField()
    interval_level = models.FloatField()
    contributions = models.JSONField(default=list)
    model_version = models.ForeignKey(
        "mlmodel.ModelVersion", on_delete=models.PROTECT, related_name="predictions"
    )
    experiment = models.ForeignKey(
        "mlmodel.Experiment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    arm = models.ForeignKey(
        "mlmodel.ExperimentArm", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    experiment_phase = models.PositiveIntegerField(null=True, blank=True)
    experiment_slot = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField()
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    title_match = models.CharField(
        max_length=16,
        choices=TitleMatch.choices,
        blank=True,
        help_text="How the job title was read (empty: answered before this was recorded).",
    )
    title_weight = models.FloatField(
        null=True,
        blank=True,
        help_text=(
            "Share of a title mapped by rule's usual effect the estimate kept (1 = all); "
            "empty for other titles and answers before this was recorded."
        ),
    )
    submission = stored_submission_field(
        "The web form's one-time id (portal/submissions.py): sent twice, one row."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            one_per_submission("prediction_one_per_form_submission"),
        ]
        # The history page filters by user and sorts by (-created_at, -id): the index matches
        # the sort exactly. Per-version aggregations range over (model_version, created_at).
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="prediction_user_recent_idx"),
            models.Index(fields=["model_version", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ${self.estimate_usd:,} (v{self.model_version_id})"


class PendingExposure(models.Model):
    """A prediction served in an experiment whose exposure no worker has recorded yet.

    The database fills this queue: a trigger on the prediction insert (migration 0008, for
    PostgreSQL and SQLite) adds a row whenever ``experiment_id`` is set, in the same
    transaction, so the request runs no extra statement and a committed prediction always has
    its row. The worker deletes the rows it records. A narrow queue rather than a "recorded"
    flag on Prediction: recording then never rewrites the wide prediction row and its indexes.
    No foreign key (its check would cost every insert); a row whose prediction was deleted
    is dropped when claimed.
    """

    prediction = models.OneToOneField(
        Prediction,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(help_text="The prediction's created_at.")

    def __str__(self) -> str:
        return f"exposure of #{self.prediction_id} pending"


class ShadowPrediction(models.Model):
    """A shadow arm's answer to a stored prediction's inputs: kept beside it, never shown."""

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="shadows")
    arm = models.ForeignKey("mlmodel.ExperimentArm", on_delete=models.PROTECT, related_name="+")
    model_version = models.ForeignKey(
        "mlmodel.ModelVersion", on_delete=models.PROTECT, related_name="+"
    )
    estimate_usd = models.PositiveIntegerField()
    interval_low_usd = models.PositiveIntegerField()
    interval_high_usd = models.PositiveIntegerField()
    latency_ms = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prediction", "model_version"], name="one_shadow_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"shadow v{self.model_version_id} of #{self.prediction_id}"


class BatchJob(Job):
    """A CSV of profiles predicted in one go; large files run as a Celery task.

    Its state (status, progress, heartbeat, timestamps) is the shared ``Job``'s; ``rows_done``
    is the detail behind its percent.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batch_jobs"
    )
    api_token = models.ForeignKey(
        "accounts.ApiToken", null=True, blank=True, on_delete=models.SET_NULL
    )
    file_name = models.CharField(max_length=255)
    input_csv = models.BinaryField()
    row_count = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    predicted_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    row_errors = models.JSONField(default=list, blank=True)
    result_csv = models.BinaryField(null=True, blank=True)
    model_version = models.ForeignKey(
        "mlmodel.ModelVersion", null=True, blank=True, on_delete=models.PROTECT
    )
    unrecognised_titles = models.JSONField(
        default=list,
        blank=True,
        help_text="Titles not in the data: [{title, match, treated_as, rows}], most rows first.",
    )
    submission = stored_submission_field(
        "The upload form's one-time id (portal/submissions.py): sent twice, one job."
    )

    task_name = "predictions.batch_job_run_task"
    stale_message = (
        "This job stopped without finishing (its task was lost). Your file is kept; please "
        "upload it again."
    )
    worker_lost_message = (
        "This job stopped without finishing: the background worker running it was lost (e.g. "
        "restarted or out of memory). Your file is kept; please upload it again, or contact "
        "support if it keeps failing."
    )
    queue_refused_message = (
        "The job could not be queued: the background workers are unreachable. "
        "Please upload the file again in a few minutes."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            one_per_submission("batchjob_one_per_form_submission"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="batchjob_user_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"batch #{self.pk} {self.status}"

    @classmethod
    def stale_after(cls) -> datetime.timedelta:
        return datetime.timedelta(seconds=settings.BATCH_STALE_AFTER_SECONDS)
