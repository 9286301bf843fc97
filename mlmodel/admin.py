"""Admin for the model registry and the training data.

Everything is read-only here: the registry changes only through its services (the
confirmation pages of ``mlmodel.admin_rollout``), so each change lands in the append-only audit
log with the admin user who made it and the reason they gave.
"""

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from mlmodel.admin_rollout import MANAGE_PERMISSION, ModelVersionActions
from mlmodel.model_card import model_card
from mlmodel.models import ImportBatch, ModelEvent, ModelVersion, SalaryRecord
from mlmodel.selectors import model_version_metrics_summary, model_version_previous_champion

REASON_COLUMN_CHARS = 60


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
    fields = ("created_at", "action", "actor", "automatic", "reason", "experiment")
    readonly_fields = fields
    ordering = ("-created_at", "-id")


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("version_label", "status", "test_mae", "interval_coverage", "trained_on")
    list_filter = ("status", "is_demo")
    ordering = ("-version",)
    change_form_template = "admin/mlmodel/modelversion/change_form.html"
    change_list_template = "admin/mlmodel/modelversion/change_list.html"
    inlines = (ModelEventInline,)
    fieldsets = (
        ("Model card", {"fields": ("model_card_html",)}),
        (
            None,
            {
                "fields": (
                    "version",
                    "status",
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
            "Lineage and raw figures",
            {
                "classes": ("collapse",),
                "fields": (
                    "metrics_summary",
                    "metrics_json",
                    "training_data_json",
                    "hyperparameters_json",
                    "library_versions_json",
                    "git_revision",
                ),
            },
        ),
    )
    readonly_fields = (
        "model_card_html",
        "version",
        "status",
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

    @admin.display(description="version", ordering="version")
    def version_label(self, obj: ModelVersion) -> str:
        return f"v{obj.version}{' (demo)' if obj.is_demo else ''}"

    @admin.display(description="trained", ordering="trained_at")
    def trained_on(self, obj: ModelVersion) -> str:
        return formats.date_format(timezone.localtime(obj.trained_at), "j M Y")

    @admin.display(description="card")
    def model_card_html(self, obj: ModelVersion) -> str:
        return render_to_string("mlmodel/_model_card.html", {"card": model_card(obj)})

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

    def get_urls(self):
        return [*ModelVersionActions(self).urls(), *super().get_urls()]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        context = {**(extra_context or {}), "can_manage": request.user.has_perm(MANAGE_PERMISSION)}
        return super().changeform_view(request, object_id, form_url, context)

    def changelist_view(self, request, extra_context=None):
        context = {
            **(extra_context or {}),
            "can_manage": request.user.has_perm(MANAGE_PERMISSION),
            "previous_champion": model_version_previous_champion(),
        }
        return super().changelist_view(request, context)


@admin.register(ModelEvent)
class ModelEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log: append-only, so view only (no add, change or delete, ever)."""

    list_display = (
        "created_at",
        "model_version",
        "action",
        "experiment",
        "actor",
        "automatic",
        "short_reason",
    )
    list_filter = ("action", "automatic")
    list_select_related = ("model_version", "actor", "experiment")
    search_fields = ("reason",)
    readonly_fields = (
        "created_at",
        "model_version",
        "experiment",
        "action",
        "actor",
        "automatic",
        "reason",
        "before_json",
        "after_json",
        "details_json",
    )
    fields = readonly_fields

    @admin.display(description="reason")
    def short_reason(self, obj: ModelEvent) -> str:
        return Truncator(obj.reason).chars(REASON_COLUMN_CHARS)

    @admin.display(description="before")
    def before_json(self, obj: ModelEvent) -> str:
        return _pretty_json(obj.before)

    @admin.display(description="after")
    def after_json(self, obj: ModelEvent) -> str:
        return _pretty_json(obj.after)

    @admin.display(description="details")
    def details_json(self, obj: ModelEvent) -> str:
        return _pretty_json(obj.details)

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


from mlmodel import admin_training  # noqa: E402, F401  (TrainingRun and the review queue)
