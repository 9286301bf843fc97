"""Admin: predictions and batch jobs are records of what happened, so they are read-only."""

from django.contrib import admin
from django.db.models.functions import Length
from django.template.defaultfilters import filesizeformat

from portal.jobs.admin import JOB_ADMIN_FIELDS
from predictions.models import BatchJob, Prediction


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "user",
        "channel",
        "estimate_usd",
        "interval_low_usd",
        "interval_high_usd",
        "model_version",
        "experiment_arm",
        "latency_ms",
    )
    list_filter = ("channel", "model_version", "created_at")
    search_fields = ("user__username", "request_id")
    date_hierarchy = "created_at"
    list_select_related = ("user", "model_version")
    raw_id_fields = ("user", "api_token", "model_version")
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("model_version__artifact")


@admin.register(BatchJob)
class BatchJobAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "user",
        "file_name",
        "status",
        "progress_percent",
        "row_count",
        "rows_done",
        "predicted_count",
        "error_count",
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
