"""Training data and the versioned model registry."""

from django.conf import settings
from django.db import models


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
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class ModelVersion(models.Model):
    """A trained model: an artifact that cannot run code on load, its sha256 and its metrics."""

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(
        max_length=16, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE
    )
    traffic_share = models.PositiveSmallIntegerField(
        default=0, help_text="Percent of traffic this active version serves (0–100)."
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
            models.CheckConstraint(
                condition=models.Q(traffic_share__lte=100), name="traffic_share_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.status})"


class ModelAction(models.TextChoices):
    REGISTERED = "registered", "Registered"
    IMPORTED = "imported", "Imported"
    ACTIVATED = "activated", "Activated"
    RETIRED = "retired", "Retired"
    ROLLED_BACK = "rolled_back", "Rolled back to"
    TRAFFIC_CHANGED = "traffic_changed", "Traffic share changed"


class ModelEvent(models.Model):
    """Audit log of every change to which model serves (activate, retire, rollback, import)."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=32, choices=ModelAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} v{self.model_version.version}"
