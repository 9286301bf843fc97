"""Admin for feedback: read what users said and review the training rows held pending."""

from django.contrib import admin, messages

from feedback.models import Feedback
from feedback.services import feedback_training_review
from mlmodel.models import ReviewStatus
from portal.admin_display import date_column

THOUSAND = 1_000


def _usd_short(amount: int) -> str:
    return f"${amount / THOUSAND:,.0f}K" if amount >= THOUSAND else f"${amount:,}"


class TrainingStatusFilter(admin.SimpleListFilter):
    title = "training row"
    parameter_name = "training"

    def lookups(self, request, model_admin):
        return [*ReviewStatus.choices, ("none", "No salary shared")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(training_record__isnull=True)
        if value in ReviewStatus.values:
            return queryset.filter(training_record__review_status=value)
        return queryset


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    # Short, formatted columns: the list fits a 1,280 px screen without scrolling sideways.
    list_display = (
        "id",
        "updated",
        "user",
        "rating",
        "salary_against_estimate",
        "training_status",
    )
    list_filter = (TrainingStatusFilter, "rating", "updated_at")
    search_fields = ("user__username", "comment")
    list_select_related = ("user", "prediction", "training_record")
    raw_id_fields = ("prediction", "user", "training_record")
    readonly_fields = (
        "prediction",
        "user",
        "actual_salary_usd",
        "rating",
        "comment",
        "training_record",
        "created_at",
        "updated_at",
    )
    actions = ("approve_training_rows", "reject_training_rows")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    updated = date_column("updated_at", "Updated")

    @admin.display(description="Salary / estimate (#)", ordering="actual_salary_usd")
    def salary_against_estimate(self, obj: Feedback) -> str:
        actual = "—" if obj.actual_salary_usd is None else _usd_short(obj.actual_salary_usd)
        return f"{actual} / {_usd_short(obj.prediction.estimate_usd)} (#{obj.prediction_id})"

    @admin.display(description="Training row")
    def training_status(self, obj: Feedback) -> str:
        record = obj.training_record
        return record.get_review_status_display() if record is not None else "—"

    def _review(self, request, queryset, *, approve: bool) -> None:
        changed = feedback_training_review(
            feedback_ids=list(queryset.values_list("pk", flat=True)), approve=approve
        )
        verb = "approved" if approve else "rejected"
        level = messages.SUCCESS if changed else messages.WARNING
        self.message_user(request, f"{changed} pending training row(s) {verb}.", level)

    @admin.action(description="Approve training row (pending ones)", permissions=["change"])
    def approve_training_rows(self, request, queryset) -> None:
        self._review(request, queryset, approve=True)

    @admin.action(description="Reject training row (pending ones)", permissions=["change"])
    def reject_training_rows(self, request, queryset) -> None:
        self._review(request, queryset, approve=False)
