"""Training data and the versioned model registry."""

from django.conf import settings
from django.db import models

from portal.jobs.models import Job


class SalarySource(models.TextChoices):
    IMPORT = "import", "Imported file"
    FEEDBACK = "feedback", "User feedback"
    DEMO = "demo", "Synthetic demo data"


class ReviewStatus(models.TextChoices):
    """Whether a salary row may be used for training (feedback rows can be held for review)."""

    APPROVED = "approved", "Approved for training"
    PENDING = "pending", "Held for review"
    REJECTED = "rejected", "Rejected"


class ImportBatch(models.Model):
    """One imported file; its sha256 makes re-importing the same file a no-op."""

    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=16, choices=SalarySource.choices)
    row_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.row_count} rows)"


class SalaryRecord(models.Model):
    """One reported salary: the 11 dataset columns plus where it came from."""

    work_year = models.PositiveSmallIntegerField()
    experience_level = models.CharField(max_length=2)
    employment_type = models.CharField(max_length=2)
    job_title = models.CharField(max_length=100)
    salary = models.PositiveBigIntegerField()
    salary_currency = models.CharField(max_length=3)
    salary_in_usd = models.PositiveIntegerField()
    employee_residence = models.CharField(max_length=2)
    remote_ratio = models.PositiveSmallIntegerField()
    company_location = models.CharField(max_length=2)
    company_size = models.CharField(max_length=1)

    source = models.CharField(max_length=16, choices=SalarySource.choices)
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.CASCADE, related_name="records"
    )
    line_number = models.PositiveIntegerField(null=True, blank=True)
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.APPROVED
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["source", "review_status"]),
            models.Index(fields=["work_year"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["batch", "line_number"], name="unique_batch_line"),
        ]

    def __str__(self) -> str:
        return f"{self.work_year} {self.job_title} {self.experience_level} ${self.salary_in_usd:,}"


class ModelStatus(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    ACTIVE = "active", "Champion"
    RETIRED = "retired", "Retired"


class ModelVersion(models.Model):
    """A trained model: an artifact that cannot run code on load, its sha256 and its metrics."""

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(
        max_length=16, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    trained_at = models.DateTimeField()
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="When it last stopped serving (orders rollbacks)."
    )

    artifact = models.BinaryField()
    artifact_format = models.CharField(max_length=64)
    artifact_sha256 = models.CharField(max_length=64)
    artifact_size = models.PositiveIntegerField()

    metrics = models.JSONField(default=dict, blank=True)
    training_data = models.JSONField(
        default=dict, blank=True, help_text="Fingerprint: row count, years, content hash."
    )
    hyperparameters = models.JSONField(default=dict, blank=True)
    library_versions = models.JSONField(default=dict, blank=True)
    git_revision = models.CharField(max_length=64, blank=True)
    is_demo = models.BooleanField(
        default=False, help_text="Trained on synthetic demo data: the UI says so."
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-version"]
        indexes = [models.Index(fields=["status"])]
        constraints = [
            # The champion: the one version that serves everyone outside an experiment.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="active"),
                name="one_champion",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.status})"


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    PROMOTED = "promoted", "Promoted"


class ArmRole(models.TextChoices):
    CHAMPION = "champion", "Champion"
    CHALLENGER = "challenger", "Challenger"
    SHADOW = "shadow", "Shadow (scored, never shown)"


class Experiment(models.Model):
    """Which versions serve whom: arms with weights over a persisted slot map.

    At most one experiment runs; with none running the champion serves everyone. ``phase`` and
    ``seed`` change together on "re-randomize"; ``revision`` changes with every routing change,
    so processes re-read the slot map only when it moved (``mlmodel.core.rollout``).
    """

    name = models.CharField(max_length=100)
    status = models.CharField(
        max_length=16, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT
    )
    phase = models.PositiveIntegerField(default=1)
    seed = models.CharField(max_length=64)
    slot_map = models.JSONField(default=list, blank=True, help_text="Arm id of every slot.")
    revision = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    phase_started_at = models.DateTimeField(null=True, blank=True)
    weights_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the weights last changed (guardrail ramp steps)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="running"),
                name="one_running_experiment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class ExperimentArm(models.Model):
    """One version in an experiment, its weight (percent of units) and its role."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="experiment_arms"
    )
    role = models.CharField(max_length=16, choices=ArmRole.choices)
    weight = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "model_version"], name="one_arm_per_version"
            ),
            models.CheckConstraint(condition=models.Q(weight__lte=100), name="weight_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.role} v{self.model_version.version} {self.weight}%"


class Assignment(models.Model):
    """Unit ``unit`` got arm ``arm`` in this phase: recorded by a Celery task, once per unit."""

    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="+")
    phase = models.PositiveIntegerField()
    unit = models.CharField(max_length=64)
    slot = models.PositiveSmallIntegerField()
    arm = models.ForeignKey(ExperimentArm, on_delete=models.PROTECT, related_name="assignments")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    exposures = models.PositiveIntegerField(default=0)
    first_exposed_at = models.DateTimeField()
    last_exposed_at = models.DateTimeField()
    reassigned_at = models.DateTimeField(
        null=True, blank=True, help_text="When a reweight last moved this unit to another arm."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "phase", "unit"], name="one_assignment_per_unit"
            ),
        ]
        indexes = [models.Index(fields=["experiment", "phase", "slot"])]

    def __str__(self) -> str:
        return f"{self.unit} -> {self.arm}"


class ServingError(models.Model):
    """A version failed to answer (or to shadow-score): the error rate per version counts these."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    arm = models.ForeignKey(
        ExperimentArm, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} in v{self.model_version_id}"


class ArmDailyStats(models.Model):
    """One day of one version (in one arm, or serving outside experiments): the dashboard's rollup.

    Rebuilt for recent days (and days whose feedback changed) by a Celery beat task, so the
    dashboard sums a few rows instead of scanning predictions.
    """

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    arm = models.ForeignKey(
        ExperimentArm, null=True, blank=True, on_delete=models.CASCADE, related_name="daily"
    )
    day = models.DateField()
    predictions = models.PositiveIntegerField(default=0)
    shadow_predictions = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    latency_histogram = models.JSONField(default=list, help_text="Counts per latency bucket.")
    latency_sum_ms = models.FloatField(default=0)
    feedback = models.PositiveIntegerField(default=0)
    ratings = models.JSONField(default=dict)
    actuals = models.PositiveIntegerField(default=0, help_text="Feedback with a real salary.")
    abs_error_sum = models.FloatField(default=0)
    error_sum = models.FloatField(default=0, help_text="Σ (estimate − actual): the bias.")
    covered = models.PositiveIntegerField(default=0, help_text="Actuals inside the interval.")
    feature_counts = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["arm", "day"]),
            models.Index(fields=["model_version", "day"]),
        ]

    def __str__(self) -> str:
        return f"v{self.model_version_id} on {self.day}"


class ModelAction(models.TextChoices):
    REGISTERED = "registered", "Registered"
    IMPORTED = "imported", "Imported"
    ACTIVATED = "activated", "Made champion"
    RETIRED = "retired", "Retired"
    ROLLED_BACK = "rolled_back", "Rolled back to"
    EXPERIMENT_CREATED = "experiment_created", "Experiment created"
    EXPERIMENT_STARTED = "experiment_started", "Experiment started"
    EXPERIMENT_REWEIGHTED = "experiment_reweighted", "Experiment reweighted"
    EXPERIMENT_RERANDOMIZED = "experiment_rerandomized", "Experiment re-randomized"
    EXPERIMENT_STOPPED = "experiment_stopped", "Experiment stopped"
    PROMOTED = "promoted", "Promoted to champion"


class AppendOnlyError(RuntimeError):
    """An audit event was about to be changed or deleted."""


class ModelEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("model events are append-only")

    def delete(self):
        raise AppendOnlyError("model events are append-only")


class ModelEvent(models.Model):
    """Append-only audit log of every change to what serves: who, when, before, after, why.

    Rows are never updated or deleted: the model refuses, the admin offers neither, the versions
    and experiments they name are protected, and on PostgreSQL a trigger refuses too.
    """

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="events")
    experiment = models.ForeignKey(
        Experiment, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(max_length=32, choices=ModelAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    automatic = models.BooleanField(default=False, help_text="Taken by a guardrail, not a person.")
    reason = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ModelEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} v{self.model_version.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("model events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("model events are append-only")


# --------------------------------------------------------------------------------------------
# Retraining runs (issue 9)
# --------------------------------------------------------------------------------------------
# The seed a run trains with unless it is given one (as ``train_model``'s default).
DEFAULT_TRAINING_RUN_SEED = 42


class TrainingTrigger(models.TextChoices):
    ADMIN = "admin", "Admin “Retrain now”"
    COMMAND = "command", "manage.py retrain"
    API = "api", "Staff API"
    SCHEDULE = "schedule", "Celery beat schedule"


class TrainingRun(Job):
    """One retraining: approved rows → a candidate ``ModelVersion`` compared with the champion.

    Its state (status, stage, percent, heartbeat, timestamps, attempts) is the shared ``Job``'s;
    ``stage_seconds`` times each stage, ``model_version`` is the result (stored in the same
    transaction that finishes the run, so a run killed mid-way leaves no version behind).
    """

    trigger = models.CharField(max_length=16, choices=TrainingTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="training_runs",
    )
    seed = models.IntegerField(default=DEFAULT_TRAINING_RUN_SEED)
    params = models.JSONField(
        default=dict, blank=True, help_text="Hyper-parameter overrides by group (tests, tuning)."
    )
    stage_seconds = models.JSONField(
        default=dict, blank=True, help_text="Seconds spent in each finished stage."
    )
    model_version = models.OneToOneField(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="training_run",
    )
    gate_passed = models.BooleanField(
        null=True, blank=True, help_text="Did the candidate pass its gates (empty until saved)?"
    )
    activation = models.JSONField(
        default=dict, blank=True, help_text="What the activation policy did with the candidate."
    )

    task_name = "mlmodel.training_run_task"
    worker_lost_message = (
        "This training run stopped without finishing: the worker running it was lost (e.g. "
        "restarted or out of memory) too many times. No model version was stored. Start a new "
        "run; if it keeps failing, check the worker's memory and logs."
    )
    queue_refused_message = (
        "This training run could not be queued: the background workers are unreachable. "
        "No model version was stored. Start it again in a few minutes."
    )
    stale_message = (
        "This training run stopped without finishing (its task was lost). No model version was "
        "stored. Start a new run."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="trainingrun_status_idx")]

    def __str__(self) -> str:
        return f"training run #{self.pk} {self.status}"


class FeedbackSalaryReview(SalaryRecord):
    """The staff review queue: feedback salaries, shown beside the prediction they answer."""

    class Meta:
        proxy = True
        verbose_name = "feedback salary to review"
        verbose_name_plural = "feedback review queue"
