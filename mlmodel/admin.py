"""Admin for the model registry and the training data.

Everything is read-only here: the registry changes only through its services (the actions
below), so each change lands in the audit log with the admin user who made it.
"""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from mlmodel.models import ImportBatch, ModelEvent, ModelVersion, SalaryRecord
from mlmodel.selectors import model_version_metrics_summary
from mlmodel.services import (
    model_version_activate,
    model_version_retire,
    model_version_rollback,
)
from portal.exceptions import ServiceError

CHANGE_MODEL_VERSION_PERMISSION = "mlmodel.change_modelversion"


def _pretty_json(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


class ReadOnlyAdminMixin:
    """View-only: rows are written by services and imports, never edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ModelEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ModelEvent
    extra = 0
    fields = ("created_at", "action", "actor", "details")
    readonly_fields = fields
    ordering = ("-created_at", "-id")


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "version",
        "status",
        "traffic_share",
        "test_mae",
        "interval_coverage",
        "is_demo",
        "trained_at",
        "activated_at",
    )
    list_filter = ("status", "is_demo")
    ordering = ("-version",)
    actions = ("activate_selected", "retire_selected", "roll_back")
    inlines = (ModelEventInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "version",
                    "status",
                    "traffic_share",
                    "is_demo",
                    "trained_at",
                    "activated_at",
                    "retired_at",
                    "notes",
                )
            },
        ),
        ("Artifact", {"fields": ("artifact_format", "artifact_sha256", "artifact_size_display")}),
        (
            "Provenance",
            {
                "fields": (
                    "metrics_summary",
                    "metrics_json",
                    "training_data_json",
                    "hyperparameters_json",
                    "library_versions_json",
                    "git_revision",
                )
            },
        ),
    )
    readonly_fields = (
        "version",
        "status",
        "traffic_share",
        "is_demo",
        "trained_at",
        "activated_at",
        "retired_at",
        "notes",
        "artifact_format",
        "artifact_sha256",
        "artifact_size_display",
        "metrics_summary",
        "metrics_json",
        "training_data_json",
        "hyperparameters_json",
        "library_versions_json",
        "git_revision",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        # Never read the artifact blob to render a page.
        return super().get_queryset(request).defer("artifact")

    @admin.display(description="test MAE $")
    def test_mae(self, obj: ModelVersion) -> str:
        mae = model_version_metrics_summary(model_version=obj).get("mae_usd")
        return f"{mae:,.0f}" if isinstance(mae, int | float) else "–"

    @admin.display(description="coverage")
    def interval_coverage(self, obj: ModelVersion) -> str:
        coverage = model_version_metrics_summary(model_version=obj).get("interval_coverage")
        return f"{coverage:.1%}" if isinstance(coverage, int | float) else "–"

    @admin.display(description="artifact size")
    def artifact_size_display(self, obj: ModelVersion) -> str:
        return f"{obj.artifact_size:,} bytes"

    @admin.display(description="summary")
    def metrics_summary(self, obj: ModelVersion) -> str:
        return _pretty_json(model_version_metrics_summary(model_version=obj))

    @admin.display(description="metrics")
    def metrics_json(self, obj: ModelVersion) -> str:
        return _pretty_json(obj.metrics)

    @admin.display(description="training data")
    def training_data_json(self, obj: ModelVersion) -> str:
        return _pretty_json(obj.training_data)

    @admin.display(description="hyper-parameters")
    def hyperparameters_json(self, obj: ModelVersion) -> str:
        return _pretty_json(obj.hyperparameters)

    @admin.display(description="library versions")
    def library_versions_json(self, obj: ModelVersion) -> str:
        return _pretty_json(obj.library_versions)

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CHANGE_MODEL_VERSION_PERMISSION)

    @admin.action(description="Activate (serve 100%%)", permissions=["manage"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        versions = list(queryset.values_list("version", flat=True))
        if len(versions) != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        self._call(
            request,
            lambda: model_version_activate(version=versions[0], actor=request.user),
            f"v{versions[0]} is now the active model.",
        )

    @admin.action(description="Retire", permissions=["manage"])
    def retire_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset.order_by("version").values_list("version", flat=True):
            self._call(
                request,
                lambda version=version: model_version_retire(version=version, actor=request.user),
                f"v{version} retired.",
            )

    @admin.action(description="Roll back to previous", permissions=["manage"])
    def roll_back(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        result: list[ModelVersion] = []
        self._call(
            request,
            lambda: result.append(model_version_rollback(actor=request.user)),
            None,
        )
        if result:
            self.message_user(
                request, f"Rolled back: v{result[0].version} is the active model again."
            )

    def _call(self, request: HttpRequest, change, success: str | None) -> None:
        try:
            change()
        except ServiceError as exc:
            for field_messages in exc.errors.values():
                for message in field_messages:
                    self.message_user(request, message, messages.ERROR)
            return
        if success:
            self.message_user(request, success)


@admin.register(ModelEvent)
class ModelEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "model_version", "action", "actor")
    list_filter = ("action",)
    list_select_related = ("model_version", "actor")
    ordering = ("-created_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelEvent]:
        return super().get_queryset(request).defer("model_version__artifact")


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "file_name", "source", "row_count", "skipped_count")
    list_filter = ("source",)
    search_fields = ("file_name", "file_sha256")


@admin.register(SalaryRecord)
class SalaryRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "work_year",
        "job_title",
        "experience_level",
        "salary_in_usd",
        "company_location",
        "source",
        "review_status",
        "line_number",
    )
    list_filter = ("source", "review_status", "work_year", "experience_level")
    search_fields = ("job_title",)
    show_full_result_count = False
