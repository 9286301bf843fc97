"""Admin for retraining: runs with "Retrain now" and a live progress bar, and the review queue.

Read-only like the rest of the registry's admin: a run is started through
``mlmodel.training_runs.training_run_request`` (the button), feedback rows change only through
``salary_feedback_review`` (the bulk actions). The progress bar is updated by
``static/js/training_run_progress.js`` (no inline script: the CSP is strict) polling this
admin's ``progress/`` JSON.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from mlmodel.models import FeedbackSalaryReview, ReviewStatus, TrainingRun, TrainingTrigger
from mlmodel.training_runs import salary_feedback_review, training_run_request
from mlmodel.training_selectors import (
    comparison_rows,
    feedback_review_queue,
    training_run_get,
)
from portal.admin_display import date_column
from portal.exceptions import ServiceError
from portal.jobs.admin import JOB_ADMIN_FIELDS
from portal.jobs.models import UNFINISHED_STATUSES

RETRAIN_PERMISSION = "mlmodel.add_trainingrun"
REVIEW_PERMISSION = "mlmodel.change_feedbacksalaryreview"
PROGRESS_POLL_MILLISECONDS = 1000
SECONDS_PER_MINUTE = 60


def run_state(run: TrainingRun) -> dict[str, object]:
    """What the progress bar shows, as the JSON it polls."""
    version = run.model_version
    metrics = (version.metrics or {}) if version is not None else {}
    comparison = metrics.get("comparison") or {}
    gate = metrics.get("gate") or {}
    return {
        "id": run.pk,
        "status": run.status,
        "finished": run.status not in UNFINISHED_STATUSES,
        "stage": run.stage,
        "progress_percent": run.progress_percent,
        "message": run.message,
        "stage_seconds": run.stage_seconds,
        "model_version": version.version if version is not None else None,
        "active_version": comparison.get("active_version"),
        "held_out_rows": comparison.get("rows"),
        "gate_passed": run.gate_passed,
        "gate_reasons": gate.get("reasons", []),
        "comparison": comparison_rows(run),
    }


class _ViewOnly:
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(TrainingRun)
class TrainingRunAdmin(_ViewOnly, admin.ModelAdmin):
    # Short cells, so the list fits 1,280 px beside its filters (the run's page has the rest).
    list_display = (
        "id",
        "state",
        "trigger",
        "requester",
        "candidate",
        "gate",
        "requested",
        "took",
    )
    list_filter = ("status", "trigger", "gate_passed")
    list_select_related = ("requested_by", "model_version")
    ordering = ("-created_at", "-id")
    fields = (
        "trigger",
        "requested_by",
        *JOB_ADMIN_FIELDS,
        "attempts",
        "seed",
        "params",
        "stage_seconds",
        "candidate",
        "gate_passed",
        "activation",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[TrainingRun]:
        return super().get_queryset(request).defer("model_version__artifact")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("retrain/", wrap(self.retrain_view), name="mlmodel_trainingrun_retrain"),
            path(
                "<int:run_id>/progress/",
                wrap(self.progress_view),
                name="mlmodel_trainingrun_progress",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="candidate")
    def candidate(self, obj: TrainingRun) -> str:
        version = obj.model_version
        if version is None:
            return "–"
        url = reverse("admin:mlmodel_modelversion_change", args=[version.pk])
        return format_html('<a href="{}">v{}</a>', url, version.version)

    @admin.display(description="status", ordering="status")
    def state(self, obj: TrainingRun) -> str:
        """The status and, while unfinished, how far the run got: ``Running: 40 % fitting``."""
        if obj.status not in UNFINISHED_STATUSES:
            return obj.get_status_display()
        stage = f" {obj.stage}" if obj.stage else ""
        return f"{obj.get_status_display()}: {obj.progress_percent} %{stage}"

    @admin.display(description="by", ordering="requested_by__username")
    def requester(self, obj: TrainingRun) -> str:
        return obj.requested_by.get_username() if obj.requested_by is not None else "–"

    requested = date_column("created_at", "requested")

    @admin.display(description="took")
    def took(self, obj: TrainingRun) -> str:
        if obj.started_at is None or obj.finished_at is None:
            return "–"
        seconds = round((obj.finished_at - obj.started_at).total_seconds())
        minutes, seconds = divmod(max(seconds, 0), SECONDS_PER_MINUTE)
        return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"

    @admin.display(description="gates")
    def gate(self, obj: TrainingRun) -> str:
        if obj.gate_passed is None:
            return "–"
        return "passed" if obj.gate_passed else "DID NOT PASS"

    def can_retrain(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RETRAIN_PERMISSION)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra = {"can_retrain": self.can_retrain(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        if str(object_id).isdigit():
            try:
                run = training_run_get(run_id=int(object_id))
            except ServiceError:
                run = None
            if run is not None:
                extra.update(
                    run_state=run_state(run),
                    progress_url=reverse("admin:mlmodel_trainingrun_progress", args=[run.pk]),
                    poll_milliseconds=PROGRESS_POLL_MILLISECONDS,
                )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def retrain_view(self, request: HttpRequest) -> HttpResponseRedirect:
        return require_POST(self._retrain_post)(request)

    def _retrain_post(self, request: HttpRequest) -> HttpResponseRedirect:
        changelist = reverse("admin:mlmodel_trainingrun_changelist")
        if not self.can_retrain(request):
            self.message_user(request, "You may not start training runs.", messages.ERROR)
            return redirect(changelist)
        try:
            run = training_run_request(trigger=TrainingTrigger.ADMIN, actor=request.user)
        except ServiceError as exc:
            for field_messages in exc.errors.values():
                for message in field_messages:
                    self.message_user(request, message, messages.ERROR)
            return redirect(changelist)
        self.message_user(request, f"Training run #{run.pk} started.", messages.SUCCESS)
        return redirect(reverse("admin:mlmodel_trainingrun_change", args=[run.pk]))

    def progress_view(self, request: HttpRequest, run_id: int) -> JsonResponse:
        return require_GET(self._progress_get)(request, run_id)

    def _progress_get(self, request: HttpRequest, run_id: int) -> JsonResponse:
        if not self.has_view_permission(request):
            return JsonResponse({"errors": {"detail": ["Not allowed."]}}, status=403)
        try:
            run = training_run_get(run_id=run_id)
        except ServiceError as exc:
            return JsonResponse({"errors": exc.errors}, status=404)
        return JsonResponse(run_state(run))


class ReviewStatusFilter(admin.SimpleListFilter):
    """Pending rows first: the queue opens on what still needs a decision."""

    title = "review status"
    parameter_name = "review"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*ReviewStatus.choices, (self.ALL, "All")]

    def choices(self, changelist):
        current = self.value() or ReviewStatus.PENDING
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or ReviewStatus.PENDING
        if value == self.ALL:
            return queryset
        return queryset.filter(review_status=value)


def _prediction(record: FeedbackSalaryReview):
    try:
        return record.feedback.prediction
    except ObjectDoesNotExist:
        return None


@admin.register(FeedbackSalaryReview)
class FeedbackSalaryReviewAdmin(_ViewOnly, admin.ModelAdmin):
    list_display = (
        "id",
        "review_status",
        "reported_salary",
        "predicted",
        "predicted_interval",
        "ratio_to_prediction",
        "job_title",
        "experience_level",
        "company_location",
        "work_year",
        "reported_by",
        "created_at",
    )
    list_filter = (ReviewStatusFilter, "experience_level", "work_year")
    search_fields = ("job_title",)
    actions = ("approve_selected", "reject_selected")
    ordering = ("-created_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[FeedbackSalaryReview]:
        return feedback_review_queue()

    @admin.display(description="reported salary", ordering="salary_in_usd")
    def reported_salary(self, obj: FeedbackSalaryReview) -> str:
        return f"${obj.salary_in_usd:,}"

    @admin.display(description="predicted")
    def predicted(self, obj: FeedbackSalaryReview) -> str:
        prediction = _prediction(obj)
        return f"${prediction.estimate_usd:,}" if prediction is not None else "–"

    @admin.display(description="predicted interval")
    def predicted_interval(self, obj: FeedbackSalaryReview) -> str:
        prediction = _prediction(obj)
        if prediction is None:
            return "–"
        return f"${prediction.interval_low_usd:,} – ${prediction.interval_high_usd:,}"

    @admin.display(description="reported ÷ predicted")
    def ratio_to_prediction(self, obj: FeedbackSalaryReview) -> str:
        prediction = _prediction(obj)
        if prediction is None or not prediction.estimate_usd:
            return "–"
        return f"{obj.salary_in_usd / prediction.estimate_usd:.2f}×"

    @admin.display(description="reported by")
    def reported_by(self, obj: FeedbackSalaryReview) -> str:
        try:
            return obj.feedback.user.username
        except ObjectDoesNotExist:
            return "–"

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    def _review(self, request: HttpRequest, queryset, *, approve: bool) -> None:
        changed = salary_feedback_review(
            record_ids=list(queryset.values_list("pk", flat=True)),
            approve=approve,
            actor=request.user,
        )
        verb = "approved for training" if approve else "rejected"
        level = messages.SUCCESS if changed else messages.WARNING
        self.message_user(request, f"{changed} feedback salary row(s) {verb}.", level)

    @admin.action(description="Approve for training", permissions=["review"])
    def approve_selected(self, request: HttpRequest, queryset) -> None:
        self._review(request, queryset, approve=True)

    @admin.action(description="Reject (never train on it)", permissions=["review"])
    def reject_selected(self, request: HttpRequest, queryset) -> None:
        self._review(request, queryset, approve=False)
