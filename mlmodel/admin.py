"""Admin for the model registry and the training data.

Everything is read-only here: the registry changes only through its services (the
confirmation pages of ``mlmodel.admin_rollout``), so each change lands in the append-only audit
log with the admin user who made it and the reason they gave.
"""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from mlmodel.admin_rollout import (
    CANDIDATE_EXPERIMENT_WEIGHT,
    MANAGE_PERMISSION,
    ModelVersionActions,
)
from mlmodel.model_card import ModelCard, model_card
from mlmodel.models import ImportBatch, ModelEvent, ModelStatus, ModelVersion, SalaryRecord
from mlmodel.selectors import (
    model_version_champion,
    model_version_lineage,
    model_version_metrics_summary,
    model_version_previous_champion,
)
from mlmodel.training_selectors import training_run_get
from portal.admin_display import date_column
from portal.exceptions import NotFound

REASON_COLUMN_CHARS = 60
EXPERIMENT_COLUMN_CHARS = 24


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
    # The model card (the champion's beside it) and the lineage are drawn above these by the
    # template (admin/mlmodel/modelversion/change_form.html).
    fieldsets = (
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
        (
            # The lineage above says where the version came from in words; the stored record
            # stays here, folded away, for whoever needs the exact figures.
            "Raw record: full digests and JSON, for experts",
            {
                "classes": ("collapse", "raw-record"),
                "fields": (
                    "artifact_format",
                    "artifact_sha256",
                    "artifact_size_display",
                    "git_revision",
                    "metrics_summary",
                    "metrics_json",
                    "training_data_json",
                    "hyperparameters_json",
                    "library_versions_json",
                ),
            },
        ),
    )
    readonly_fields = (
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
        wrap = self.admin_site.admin_view
        return [
            path(
                "from-run/<int:run_id>/",
                wrap(self.from_run_view),
                name="mlmodel_modelversion_from_run",
            ),
            *ModelVersionActions(self).urls(),
            *super().get_urls(),
        ]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        context = {
            **(extra_context or {}),
            "can_manage": request.user.has_perm(MANAGE_PERMISSION),
            "candidate_experiment_weight": CANDIDATE_EXPERIMENT_WEIGHT,
        }
        return super().changeform_view(request, object_id, form_url, context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["model_cards"] = self.model_cards(obj)
            context["lineage"] = model_version_lineage(model_version=obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @staticmethod
    def model_cards(version: ModelVersion) -> list[ModelCard]:
        """This version's card, then the champion's when it is another one: a candidate is
        judged against what serves today, so staff read the two side by side."""
        champion = None if version.status == ModelStatus.ACTIVE else model_version_champion()
        return [model_card(version), *([model_card(champion)] if champion else [])]

    def from_run_view(self, request: HttpRequest, run_id: int) -> HttpResponseRedirect:
        """The candidate a training run registered. The run's page links here before the run
        has finished (its bar fills without a reload), when it cannot know the version yet."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            run = training_run_get(run_id=run_id)
        except NotFound as exc:
            raise Http404(f"Training run {run_id} does not exist.") from exc
        if run.model_version_id is None:
            self.message_user(
                request, f"Training run #{run.pk} has registered no model version.", messages.ERROR
            )
            return redirect(reverse("admin:mlmodel_trainingrun_change", args=[run.pk]))
        return redirect(reverse("admin:mlmodel_modelversion_change", args=[run.model_version_id]))

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

    # Short cells, so the list fits 1,280 px beside its filters: foreign keys and datetimes
    # would each be one unbreakable line (the admin marks them nowrap).
    list_display = (
        "created",
        "version",
        "action",
        "experiment_name",
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

    created = date_column("created_at", "when")

    @admin.display(description="version", ordering="model_version__version")
    def version(self, obj: ModelEvent) -> str:
        # Only the number: the version's status today is not what it was at the event.
        return f"v{obj.model_version.version}"

    @admin.display(description="experiment", ordering="experiment__name")
    def experiment_name(self, obj: ModelEvent) -> str:
        if obj.experiment is None:
            return "–"
        return Truncator(obj.experiment.name).chars(EXPERIMENT_COLUMN_CHARS)

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
