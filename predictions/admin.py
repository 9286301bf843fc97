"""Admin: predictions and batch jobs are records of what happened, so they are read-only."""

from django.contrib import admin
from django.db.models.functions import Length
from django.template.defaultfilters import filesizeformat

from portal.admin_display import date_column
from portal.jobs.admin import JOB_ADMIN_FIELDS
from predictions.models import BatchJob, Prediction

THOUSAND = 1_000


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def usd_text(value: int | None) -> str:
    return "—" if value is None else f"${value:,}"


def usd_short_text(value: int) -> str:
    return f"${value / THOUSAND:,.0f}K" if value >= THOUSAND else f"${value:,}"


def latency_text(milliseconds: float | None) -> str:
    """``4.706876000000193`` → ``4.7 ms``."""
    return "—" if milliseconds is None else f"{milliseconds:,.1f} ms"


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    # Short, formatted columns: the list fits a 1,280 px screen without scrolling sideways.
    list_display = (
        "id",
        "created",
        "user",
        "channel",
        "estimate",
        "model_number",
        "arm_role",
        "latency",
    )
    list_filter = ("channel", "model_version", "created_at")
    search_fields = ("user__username", "request_id")
    date_hierarchy = "created_at"
    list_select_related = ("user", "model_version", "arm")
    raw_id_fields = ("user", "api_token", "model_version")
    show_full_result_count = False

    readonly_fields = ("latency",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("model_version__artifact")

    def get_fields(self, request, obj=None):
        """The detail page shows the latency as ``4.7 ms``, not the stored float."""
        fields = super().get_fields(request, obj)
        return list(dict.fromkeys("latency" if name == "latency_ms" else name for name in fields))

    created = date_column("created_at", "Created")

    @admin.display(description="Estimate (range)", ordering="estimate_usd")
    def estimate(self, obj: Prediction) -> str:
        return (
            f"{usd_text(obj.estimate_usd)} ({usd_short_text(obj.interval_low_usd)}–"
            f"{usd_short_text(obj.interval_high_usd)})"
        )

    @admin.display(description="Model", ordering="model_version__version")
    def model_number(self, obj: Prediction) -> str:
        return f"v{obj.model_version.version}"

    @admin.display(description="Arm")
    def arm_role(self, obj: Prediction) -> str:
        return obj.arm.role if obj.arm_id else "—"

    @admin.display(description="Latency", ordering="latency_ms")
    def latency(self, obj: Prediction) -> str:
        return latency_text(obj.latency_ms)


@admin.register(BatchJob)
class BatchJobAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created",
        "user",
        "file_name",
        "status",
        "progress",
        "outcome",
    )
    list_filter = ("status", "created_at")
    search_fields = ("user__username", "file_name")
    list_select_related = ("user",)
    # The CSV blobs are never rendered (or even loaded): only their sizes are shown.
    fields = (
        "user",
        "api_token",
        "file_name",
        "input_size",
        "result_size",
        "row_count",
        "rows_done",
        "predicted_count",
        "error_count",
        "model_version",
        "row_errors",
        *JOB_ADMIN_FIELDS,
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("input_csv", "result_csv")

    created = date_column("created_at", "Created")

    @admin.display(description="Done", ordering="progress_percent")
    def progress(self, obj: BatchJob) -> str:
        return f"{obj.progress_percent} %"

    @admin.display(description="Rows (ok / errors)")
    def outcome(self, obj: BatchJob) -> str:
        return f"{obj.row_count:,}: {obj.predicted_count:,} / {obj.error_count:,}"

    @admin.display(description="Input file size")
    def input_size(self, obj: BatchJob) -> str:
        return _blob_size(obj.pk, "input_csv")

    @admin.display(description="Result file size")
    def result_size(self, obj: BatchJob) -> str:
        return _blob_size(obj.pk, "result_csv")


def _blob_size(job_id: int, field: str) -> str:
    size = (
        BatchJob.objects.filter(pk=job_id)
        .annotate(size=Length(field))
        .values_list("size", flat=True)
    ).first()
    return filesizeformat(size) if size is not None else "—"
