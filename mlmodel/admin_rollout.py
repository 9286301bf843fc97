"""The rollout panel in the Django admin: experiments, the champion, rollback, the dashboard.

Every action is a confirmation page that asks for a reason and calls one rollout service;
nothing here writes a row itself, so each change lands in the append-only audit log with the
staff member who made it. Staff only: the admin site's own login and the model permission
``mlmodel.change_modelversion`` guard every page.
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from mlmodel.models import ArmRole, Experiment, ExperimentStatus, ModelStatus, ModelVersion
from mlmodel.rollout import metrics as rollout_metrics
from mlmodel.rollout import selectors, services
from mlmodel.selectors import model_version_previous_champion
from portal.admin_display import date_column
from portal.exceptions import ServiceError

MANAGE_PERMISSION = "mlmodel.change_modelversion"
MAX_NEW_ARMS = 3
# "Start a 10 % experiment" on a candidate's page: a first, small exposure beside the champion.
CANDIDATE_EXPERIMENT_WEIGHT = 10
TREND_WIDTH, TREND_HEIGHT, TREND_PAD = 640, 220, 44


def _require_manage(request: HttpRequest) -> None:
    if not request.user.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied


def _errors_into(form: forms.Form, exc: ServiceError) -> None:
    for field, field_messages in exc.errors.items():
        target = field if field in form.fields else None
        for message in field_messages:
            form.add_error(target, message)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=services.REASON_MAX_LENGTH,
        help_text="Why? The audit log keeps it.",
    )


class PromoteForm(ReasonForm):
    model_version = forms.TypedChoiceField(coerce=int, label="Promote version")
    srm_override_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        max_length=services.REASON_MAX_LENGTH,
        label="Override the sample-ratio warning because…",
        help_text="Only needed when the split is mismatched (see the dashboard).",
    )

    def __init__(self, *args, experiment: Experiment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_version"].choices = [
            (arm.model_version.version, f"v{arm.model_version.version} ({arm.role})")
            for arm in selectors.arm_list(experiment=experiment)
            if arm.role != ArmRole.CHAMPION
        ]


def _version_choices(*, exclude: set[int] = frozenset()) -> list[tuple[str, str]]:
    versions = (
        ModelVersion.objects.defer("artifact")
        .exclude(status=ModelStatus.ACTIVE)
        .exclude(version__in=exclude)
        .order_by("-version")
    )
    return [("", "—")] + [(str(v.version), f"v{v.version} ({v.status})") for v in versions]


class ArmsForm(ReasonForm):
    """Weights of existing arms plus up to three new ones (version, weight, role)."""

    def __init__(self, *args, experiment: Experiment | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.existing = selectors.arm_list(experiment=experiment) if experiment else []
        for arm in self.existing:
            self.fields[f"weight_{arm.model_version.version}"] = forms.IntegerField(
                min_value=0,
                max_value=100,
                initial=arm.weight,
                label=f"v{arm.model_version.version} ({arm.role}) weight %",
                disabled=arm.role == ArmRole.SHADOW,
            )
        present = {arm.model_version.version for arm in self.existing}
        for index in range(1, MAX_NEW_ARMS + 1):
            self.fields[f"new_version_{index}"] = forms.TypedChoiceField(
                choices=_version_choices(exclude=present),
                coerce=int,
                empty_value=None,
                required=False,
                label=f"Add version #{index}",
            )
            self.fields[f"new_weight_{index}"] = forms.IntegerField(
                min_value=0, max_value=100, required=False, label="weight %"
            )
            self.fields[f"new_role_{index}"] = forms.ChoiceField(
                choices=[(ArmRole.CHALLENGER, "challenger"), (ArmRole.SHADOW, "shadow")],
                required=False,
                label="role",
            )
        self.order_fields([*(name for name in self.fields if name != "reason"), "reason"])

    def arms(self) -> list[dict[str, object]]:
        data = self.cleaned_data
        arms = [
            {
                "model_version": arm.model_version.version,
                "weight": data.get(f"weight_{arm.model_version.version}", arm.weight),
                **({"role": arm.role} if arm.role != ArmRole.CHAMPION else {}),
            }
            for arm in self.existing
        ]
        for index in range(1, MAX_NEW_ARMS + 1):
            version = data.get(f"new_version_{index}")
            if version:
                arms.append(
                    {
                        "model_version": version,
                        "weight": data.get(f"new_weight_{index}") or 0,
                        "role": data.get(f"new_role_{index}") or ArmRole.CHALLENGER,
                    }
                )
        return arms


class NewExperimentForm(ArmsForm):
    name = forms.CharField(max_length=services.NAME_MAX_LENGTH)
    champion_weight = forms.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        label="Champion weight %",
        help_text="Empty: whatever the challengers leave of 100 %.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["name", "champion_weight", *self.fields])

    def arms(self) -> list[dict[str, object]]:
        arms = super().arms()
        weight = self.cleaned_data.get("champion_weight")
        champion = ModelVersion.objects.filter(status=ModelStatus.ACTIVE).first()
        if weight is not None and champion is not None:
            arms.append({"model_version": champion.version, "weight": weight})
        return arms


class ServedWhenForm(forms.Form):
    user = forms.CharField(help_text="A username or a user id.")
    day = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), initial=datetime.date.today
    )

    def clean_user(self):
        value = self.cleaned_data["user"].strip()
        users = get_user_model().objects
        found = users.filter(username=value).first()
        if found is None and value.isdigit():
            found = users.filter(pk=int(value)).first()
        if found is None:
            raise forms.ValidationError(f"No user called or numbered {value!r}.")
        return found


def trend_chart(trend: list[dict[str, object]]) -> dict[str, object]:
    """Server-side SVG geometry of predictions per day per arm (no script, CSP-safe)."""
    days = sorted({str(point["day"]) for point in trend})
    series: dict[int, list[dict[str, object]]] = {}
    for point in trend:
        series.setdefault(int(point["model_version"]), []).append(point)
    highest = max((int(p["predictions"]) for p in trend), default=0) or 1
    span_x = TREND_WIDTH - 2 * TREND_PAD
    span_y = TREND_HEIGHT - 2 * TREND_PAD

    def x(day: str) -> float:
        return TREND_PAD + (span_x * days.index(day) / (len(days) - 1) if len(days) > 1 else 0)

    def y(value: int) -> float:
        return TREND_HEIGHT - TREND_PAD - span_y * value / highest

    lines = []
    for index, (version, points) in enumerate(sorted(series.items())):
        coordinates = [(x(str(p["day"])), y(int(p["predictions"]))) for p in points]
        lines.append(
            {
                "version": version,
                "css_class": f"series-{index % 4}",
                "points": " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coordinates),
                "dots": [{"x": f"{cx:.1f}", "y": f"{cy:.1f}"} for cx, cy in coordinates],
                "legend_y": TREND_PAD + 18 * index,
            }
        )
    return {
        "width": TREND_WIDTH,
        "height": TREND_HEIGHT,
        "pad": TREND_PAD,
        "bottom": TREND_HEIGHT - TREND_PAD,
        "right": TREND_WIDTH - TREND_PAD,
        "highest": highest,
        "first_day": days[0] if days else "",
        "last_day": days[-1] if days else "",
        "lines": lines,
    }


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    # Short cells (dates as ``2 Dec 2026 13:05``), so the list fits 1,280 px beside its filter.
    list_display = ("name", "status", "phase", "arms_summary", "started", "stopped")
    list_filter = ("status",)
    ordering = ("-created_at", "-id")
    change_form_template = "admin/mlmodel/experiment/dashboard.html"
    change_list_template = "admin/mlmodel/experiment/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # drafted on the "new experiment" page, through the service

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # changed only through the action pages

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    started = date_column("started_at", "started")

    stopped = date_column("stopped_at", "stopped")

    @admin.display(description="arms")
    def arms_summary(self, obj: Experiment) -> str:
        return ", ".join(
            f"v{arm.model_version.version} {arm.role} {arm.weight}%"
            for arm in selectors.arm_list(experiment=obj)
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("new/", wrap(self.new_view), name="mlmodel_experiment_new"),
            path(
                "served-when/", wrap(self.served_when_view), name="mlmodel_experiment_served_when"
            ),
            path(
                "<int:experiment_id>/actions/<slug:action>/",
                wrap(self.action_view),
                name="mlmodel_experiment_action",
            ),
            *super().get_urls(),
        ]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        experiment = get_object_or_404(Experiment, pk=object_id)
        dashboard = rollout_metrics.experiment_dashboard(experiment=experiment)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Experiment: {experiment.name}",
            "experiment": experiment,
            "dashboard": dashboard,
            "chart": trend_chart(dashboard["trend"]),
            "actions_allowed": self._allowed_actions(experiment),
            "can_manage": request.user.has_perm(MANAGE_PERMISSION),
        }
        return TemplateResponse(request, self.change_form_template, context)

    @staticmethod
    def _allowed_actions(experiment: Experiment) -> list[tuple[str, str]]:
        if experiment.status == ExperimentStatus.DRAFT:
            return [("start", "Start"), ("reweight", "Change arms"), ("stop", "Cancel")]
        if experiment.status == ExperimentStatus.RUNNING:
            return [
                ("reweight", "Reweight"),
                ("promote", "Promote a challenger"),
                ("rerandomize", "Re-randomize"),
                ("stop", "Stop"),
            ]
        return []

    def new_view(self, request: HttpRequest) -> HttpResponse:
        _require_manage(request)
        form = NewExperimentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                experiment = services.experiment_create(
                    name=form.cleaned_data["name"],
                    arms=form.arms(),
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ServiceError as exc:
                _errors_into(form, exc)
            else:
                self.message_user(request, f"Draft experiment “{experiment.name}” created.")
                return HttpResponseRedirect(
                    reverse("admin:mlmodel_experiment_change", args=[experiment.pk])
                )
        champion = ModelVersion.objects.filter(status=ModelStatus.ACTIVE).first()
        return self._form_page(
            request,
            form,
            title="New experiment",
            intro=(
                f"The champion (v{champion.version}) is always an arm."
                if champion
                else "There is no champion yet: activate a version first."
            ),
            submit="Create draft",
        )

    def action_view(self, request: HttpRequest, experiment_id: int, action: str) -> HttpResponse:
        _require_manage(request)
        experiment = get_object_or_404(Experiment, pk=experiment_id)
        allowed = dict(self._allowed_actions(experiment))
        if action not in allowed:
            self.message_user(
                request,
                f"“{action}” is not possible on a {experiment.status} experiment.",
                messages.ERROR,
            )
            return HttpResponseRedirect(
                reverse("admin:mlmodel_experiment_change", args=[experiment.pk])
            )
        form = self._action_form(action, request, experiment)
        if request.method == "POST" and form.is_valid():
            try:
                self._run_action(action, form, experiment, request)
            except ServiceError as exc:
                _errors_into(form, exc)
            else:
                self.message_user(request, f"{allowed[action]}: done.")
                return HttpResponseRedirect(
                    reverse("admin:mlmodel_experiment_change", args=[experiment.pk])
                )
        srm = rollout_metrics.experiment_sample_ratio(experiment=experiment)
        return self._form_page(
            request,
            form,
            title=f"{allowed[action]} — {experiment.name}",
            intro=self._action_intro(action, experiment),
            submit=f"Yes, {allowed[action].lower()}",
            warning=(
                f"Sample-ratio mismatch: the recorded split {srm.observed} does not match the "
                f"weights (p = {srm.p_value:.2g}). Promoting needs an override reason."
                if action == "promote" and srm.flagged
                else ""
            ),
            back=reverse("admin:mlmodel_experiment_change", args=[experiment.pk]),
        )

    @staticmethod
    def _action_form(action: str, request: HttpRequest, experiment: Experiment) -> forms.Form:
        data = request.POST or None
        if action == "promote":
            return PromoteForm(data, experiment=experiment)
        if action == "reweight":
            return ArmsForm(data, experiment=experiment)
        return ReasonForm(data)

    @staticmethod
    def _action_intro(action: str, experiment: Experiment) -> str:
        return {
            "start": "Users are spread over the arms by their slot; the request never waits on "
            "the assignment records.",
            "stop": "The champion serves everyone again. Assignments and metrics are kept.",
            "reweight": "Only the users who must move are moved, all into the growing arms. "
            "Arms are never removed from a running experiment: give one weight 0.",
            "promote": "The chosen version becomes champion for everyone; the experiment ends.",
            "rerandomize": f"Phase {experiment.phase + 1} starts with a new seed: every user is "
            "drawn again.",
        }[action]

    @staticmethod
    def _run_action(action: str, form: forms.Form, experiment: Experiment, request) -> None:
        common = {
            "experiment_id": experiment.pk,
            "actor": request.user,
            "reason": form.cleaned_data["reason"],
        }
        if action == "start":
            services.experiment_start(**common)
        elif action == "stop":
            services.experiment_stop(**common)
        elif action == "rerandomize":
            services.experiment_rerandomize(**common)
        elif action == "reweight":
            services.experiment_reweight(arms=form.arms(), **common)
        elif action == "promote":
            services.experiment_promote(
                model_version=form.cleaned_data["model_version"],
                srm_override_reason=form.cleaned_data["srm_override_reason"],
                **common,
            )

    def served_when_view(self, request: HttpRequest) -> HttpResponse:
        form = ServedWhenForm(request.GET or None)
        rows = None
        if request.GET and form.is_valid():
            rows = selectors.served_when(
                user_id=form.cleaned_data["user"].pk, day=form.cleaned_data["day"]
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "What served when",
            "form": form,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/mlmodel/experiment/served_when.html", context)

    def _form_page(self, request, form, *, title, intro, submit, warning="", back=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "intro": intro,
            "warning": warning,
            "form": form,
            "submit": submit,
            "back": back or reverse("admin:mlmodel_experiment_changelist"),
        }
        return TemplateResponse(request, "admin/mlmodel/confirm_action.html", context)


class ModelVersionActions:
    """Make champion, retire, roll back and start a candidate's experiment, each on a
    confirmation page with a reason."""

    def __init__(self, model_admin: admin.ModelAdmin) -> None:
        self.model_admin = model_admin

    def urls(self):
        wrap = self.model_admin.admin_site.admin_view
        return [
            path("rollback/", wrap(self.rollback_view), name="mlmodel_modelversion_rollback"),
            path(
                "<int:version_id>/champion/",
                wrap(self.champion_view),
                name="mlmodel_modelversion_champion",
            ),
            path(
                "<int:version_id>/retire/",
                wrap(self.retire_view),
                name="mlmodel_modelversion_retire",
            ),
            path(
                "<int:version_id>/experiment/",
                wrap(self.experiment_view),
                name="mlmodel_modelversion_experiment",
            ),
        ]

    def _page(self, request, *, form, title, intro, submit, back):
        context = {
            **self.model_admin.admin_site.each_context(request),
            "opts": ModelVersion._meta,
            "title": title,
            "intro": intro,
            "warning": "",
            "form": form,
            "submit": submit,
            "back": back,
        }
        return TemplateResponse(request, "admin/mlmodel/confirm_action.html", context)

    def _confirm(self, request, *, title, intro, submit, back, change, done, then=None):
        """``then(result)``, when given, is where to go once done (else back where we came from)."""
        _require_manage(request)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = change(form.cleaned_data["reason"])
            except ServiceError as exc:
                _errors_into(form, exc)
            else:
                self.model_admin.message_user(request, done(result))
                return HttpResponseRedirect(then(result) if then else back)
        return self._page(request, form=form, title=title, intro=intro, submit=submit, back=back)

    def champion_view(self, request, version_id: int):
        version = get_object_or_404(ModelVersion.objects.defer("artifact"), pk=version_id)
        back = reverse("admin:mlmodel_modelversion_change", args=[version.pk])
        return self._confirm(
            request,
            title=f"Make v{version.version} the champion",
            intro="It will serve everyone; the current champion is retired and any running "
            "experiment stops. Prefer an experiment to learn first.",
            submit=f"Yes, make v{version.version} champion",
            back=back,
            change=lambda reason: services.model_version_activate(
                version=version.version, actor=request.user, reason=reason
            ),
            done=lambda result: f"v{result.version} is the champion.",
        )

    def retire_view(self, request, version_id: int):
        version = get_object_or_404(ModelVersion.objects.defer("artifact"), pk=version_id)
        back = reverse("admin:mlmodel_modelversion_change", args=[version.pk])
        return self._confirm(
            request,
            title=f"Retire v{version.version}",
            intro="A retired version serves nobody; its history and audit events stay.",
            submit=f"Yes, retire v{version.version}",
            back=back,
            change=lambda reason: services.model_version_retire(
                version=version.version, actor=request.user, reason=reason
            ),
            done=lambda result: f"v{result.version} retired.",
        )

    def experiment_view(self, request, version_id: int):
        version = get_object_or_404(ModelVersion.objects.defer("artifact"), pk=version_id)
        weight = CANDIDATE_EXPERIMENT_WEIGHT
        return self._confirm(
            request,
            title=f"Start a {weight} % experiment for v{version.version}",
            intro=f"v{version.version} will answer {weight} % of users (each keeps their arm), "
            "the champion the others. Read the experiment's dashboard, then promote or stop it.",
            submit=f"Yes, start the {weight} % experiment",
            back=reverse("admin:mlmodel_modelversion_change", args=[version.pk]),
            change=lambda reason: services.experiment_start_for_candidate(
                candidate_version=version.version,
                weight=weight,
                actor=request.user,
                reason=reason,
                automatic=False,
            ),
            done=lambda experiment: f"Experiment “{experiment.name}” started.",
            then=lambda experiment: reverse(
                "admin:mlmodel_experiment_change", args=[experiment.pk]
            ),
        )

    def rollback_view(self, request):
        target = model_version_previous_champion()
        current = ModelVersion.objects.filter(status=ModelStatus.ACTIVE).first()
        back = reverse("admin:mlmodel_modelversion_changelist")
        intro = (
            f"v{target.version} (the champion before v{current.version if current else '—'}) "
            "will serve everyone again; any running experiment stops."
            if target
            else "There is no earlier champion to roll back to."
        )
        return self._confirm(
            request,
            title="Roll back to the previous champion",
            intro=intro,
            submit="Yes, roll back",
            back=back,
            change=lambda reason: services.model_version_rollback(
                actor=request.user, reason=reason
            ),
            done=lambda result: f"Rolled back: v{result.version} is the champion again.",
        )
