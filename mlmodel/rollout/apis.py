"""Staff API for rollout automation: experiments, promotion, rollback, versions, audit log.

Token or session; staff only (403 for signed-in non-staff, 401 anonymous). Each view
validates its input, calls one service or selector and renders.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mlmodel.models import ArmRole
from mlmodel.rollout import metrics as rollout_metrics
from mlmodel.rollout import selectors, services
from mlmodel.selectors import model_version_list, model_version_metrics_summary
from portal.api.openapi import (
    INVALID,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    PAGE_PARAMETERS,
    ErrorSerializer,
    PageSerializer,
)

FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Signed in, but not staff")
CONFLICT = OpenApiResponse(
    ErrorSerializer, description="Clashes with the current state (e.g. another one is running)"
)
STAFF_ERRORS = {401: NOT_AUTHENTICATED, 403: FORBIDDEN}
MAX_ARMS = 10
TAGS = ["rollout"]


class StaffApi(APIView):
    permission_classes = [IsAdminUser]


# --- input -----------------------------------------------------------------------------------
class ArmInputSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(min_value=1, help_text="A version number.")
    weight = serializers.IntegerField(
        min_value=0, max_value=100, help_text="Percent of units (shadow arms: 0)."
    )
    role = serializers.ChoiceField(
        choices=[ArmRole.CHALLENGER, ArmRole.SHADOW],
        required=False,
        help_text="challenger (default) or shadow (scored on the same inputs, never shown).",
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=services.REASON_MAX_LENGTH,
        help_text="Why: kept in the audit log.",
    )


class ExperimentCreateSerializer(ReasonSerializer):
    name = serializers.CharField(max_length=services.NAME_MAX_LENGTH)
    arms = ArmInputSerializer(
        many=True,
        min_length=1,
        max_length=MAX_ARMS,
        help_text="Challenger and shadow arms; the champion is added with the rest of 100 % "
        "(list the champion's version to give it a weight explicitly).",
    )


class ExperimentReweightSerializer(ReasonSerializer):
    arms = ArmInputSerializer(many=True, min_length=1, max_length=MAX_ARMS)


class PromoteSerializer(ReasonSerializer):
    model_version = serializers.IntegerField(min_value=1)
    srm_override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=services.REASON_MAX_LENGTH,
        help_text="Promote despite a sample-ratio mismatch, and why.",
    )


class RollbackSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=services.REASON_MAX_LENGTH)


# --- output ----------------------------------------------------------------------------------
class ArmSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    model_version = serializers.IntegerField()
    role = serializers.CharField()
    weight = serializers.IntegerField()
    units = serializers.IntegerField(help_text="Assignments recorded in this phase.")
    predictions = serializers.IntegerField()
    shadow_predictions = serializers.IntegerField()
    errors = serializers.IntegerField()
    error_rate = serializers.FloatField(allow_null=True)
    latency_p50_ms = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)
    feedback = serializers.IntegerField()
    feedback_rate = serializers.FloatField(allow_null=True)
    actuals = serializers.IntegerField(help_text="Feedback carrying a real salary.")
    mae = serializers.FloatField(allow_null=True, help_text="On feedback with a real salary.")
    bias = serializers.FloatField(allow_null=True, help_text="Mean (estimate − actual).")
    coverage = serializers.FloatField(allow_null=True, help_text="Actuals inside the interval.")
    ratings = serializers.DictField(child=serializers.IntegerField())
    drift = serializers.DictField(child=serializers.FloatField(allow_null=True))
    drift_flagged = serializers.ListField(child=serializers.CharField())


class SrmSerializer(serializers.Serializer):
    observed = serializers.DictField(child=serializers.IntegerField())
    expected = serializers.DictField(child=serializers.FloatField())
    statistic = serializers.FloatField()
    p_value = serializers.FloatField()
    units = serializers.IntegerField()
    flagged = serializers.BooleanField()
    enough_units = serializers.BooleanField()
    alpha = serializers.FloatField()
    min_units = serializers.IntegerField()


class ShadowComparisonSerializer(serializers.Serializer):
    model_version = serializers.IntegerField()
    pairs = serializers.IntegerField()
    mean_difference = serializers.FloatField(
        allow_null=True, help_text="Mean |shadow error| − |served error| (negative: better)."
    )
    low = serializers.FloatField(allow_null=True, help_text="Bootstrap 95 % interval.")
    high = serializers.FloatField(allow_null=True)


class ExperimentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField(help_text="draft, running, stopped or promoted.")
    phase = serializers.IntegerField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    arms = serializers.SerializerMethodField()

    def get_arms(self, obj) -> list[dict]:
        return [
            {
                "id": arm.pk,
                "model_version": arm.model_version.version,
                "role": arm.role,
                "weight": arm.weight,
            }
            for arm in obj.arms.all()
        ]


class ExperimentDetailSerializer(ExperimentSerializer):
    arms = ArmSerializer(many=True)
    srm = SrmSerializer()
    shadow_comparisons = ShadowComparisonSerializer(many=True)
    trend = serializers.ListField(child=serializers.DictField())
    rollup_refreshed_at = serializers.DateTimeField(allow_null=True)


def _detail(experiment) -> dict:
    dashboard = rollout_metrics.experiment_dashboard(experiment=experiment)
    base = ExperimentSerializer(experiment).data
    return {**base, **dashboard}


class ExperimentPageSerializer(PageSerializer):
    results = ExperimentSerializer(many=True)


class AssignmentSerializer(serializers.Serializer):
    unit = serializers.CharField()
    model_version = serializers.IntegerField()
    experiment_id = serializers.IntegerField(allow_null=True)
    arm_id = serializers.IntegerField(allow_null=True)
    role = serializers.CharField()
    phase = serializers.IntegerField(allow_null=True)
    slot = serializers.IntegerField(allow_null=True)
    recorded = serializers.BooleanField(help_text="An assignment row exists for this phase.")


class ModelVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    status = serializers.CharField(help_text="candidate, active (the champion) or retired.")
    is_demo = serializers.BooleanField()
    trained_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)
    artifact_sha256 = serializers.CharField()
    metrics = serializers.SerializerMethodField(help_text="Headline held-out metrics.")
    backtest = serializers.SerializerMethodField(help_text="Rolling-origin backtest, if run.")
    live = serializers.SerializerMethodField(help_text="Live metrics from what it served.")

    def get_metrics(self, obj) -> dict:
        return model_version_metrics_summary(model_version=obj)

    def get_backtest(self, obj) -> dict | None:
        return (obj.metrics or {}).get("backtest")

    def get_live(self, obj) -> dict | None:
        live = self.context.get("live", {}).get(obj.pk)
        return live.as_dict() if live is not None else None


class ModelVersionPageSerializer(PageSerializer):
    results = ModelVersionSerializer(many=True)


class ModelEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    action = serializers.CharField()
    model_version = serializers.IntegerField(source="model_version.version")
    experiment = serializers.IntegerField(source="experiment_id", allow_null=True)
    actor = serializers.CharField(source="actor.username", allow_null=True)
    automatic = serializers.BooleanField()
    reason = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()
    details = serializers.JSONField()


class ModelEventPageSerializer(PageSerializer):
    results = ModelEventSerializer(many=True)


# --- views -----------------------------------------------------------------------------------
class ExperimentListCreateApi(ListAPIView):
    """List experiments, or draft a new one (the champion is always an arm)."""

    permission_classes = [IsAdminUser]
    serializer_class = ExperimentSerializer

    def get_queryset(self):
        return selectors.experiment_list()

    @extend_schema(
        tags=TAGS,
        parameters=PAGE_PARAMETERS,
        responses={200: ExperimentPageSerializer, **STAFF_ERRORS},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS,
        request=ExperimentCreateSerializer,
        responses={201: ExperimentDetailSerializer, 400: INVALID, **STAFF_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = ExperimentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        experiment = services.experiment_create(actor=request.user, **body.validated_data)
        experiment = selectors.experiment_get(experiment_id=experiment.pk)
        return Response(_detail(experiment), status=status.HTTP_201_CREATED)


class ExperimentDetailApi(StaffApi):
    """One experiment with its arms' live metrics, the SRM check and shadow comparisons;
    PATCH reweights it with the fewest units moved."""

    @extend_schema(
        tags=TAGS, responses={200: ExperimentDetailSerializer, 404: NOT_FOUND, **STAFF_ERRORS}
    )
    def get(self, request: Request, experiment_id: int) -> Response:
        return Response(_detail(selectors.experiment_get(experiment_id=experiment_id)))

    @extend_schema(
        tags=TAGS,
        request=ExperimentReweightSerializer,
        responses={
            200: ExperimentDetailSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: CONFLICT,
            **STAFF_ERRORS,
        },
    )
    def patch(self, request: Request, experiment_id: int) -> Response:
        body = ExperimentReweightSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.experiment_reweight(
            experiment_id=experiment_id, actor=request.user, **body.validated_data
        )
        return Response(_detail(selectors.experiment_get(experiment_id=experiment_id)))


def _action(service, summary: str, request_serializer=ReasonSerializer):
    class ExperimentActionApi(StaffApi):
        __doc__ = summary

        @extend_schema(
            tags=TAGS,
            request=request_serializer,
            summary=summary,
            responses={
                200: ExperimentDetailSerializer,
                400: INVALID,
                404: NOT_FOUND,
                409: CONFLICT,
                **STAFF_ERRORS,
            },
        )
        def post(self, request: Request, experiment_id: int) -> Response:
            body = request_serializer(data=request.data)
            body.is_valid(raise_exception=True)
            service(experiment_id=experiment_id, actor=request.user, **body.validated_data)
            return Response(_detail(selectors.experiment_get(experiment_id=experiment_id)))

    ExperimentActionApi.__name__ = f"Experiment{service.__name__.title().replace('_', '')}Api"
    return ExperimentActionApi


ExperimentStartApi = _action(services.experiment_start, "Start a draft experiment.")
ExperimentStopApi = _action(
    services.experiment_stop, "Stop it: the champion serves everyone again."
)
ExperimentPromoteApi = _action(
    services.experiment_promote,
    "Promote a challenger to champion for everyone (blocked by SRM unless overridden).",
    PromoteSerializer,
)
ExperimentRerandomizeApi = _action(
    services.experiment_rerandomize, "Start a new phase with a new seed (everyone drawn again)."
)


class ExperimentAssignmentApi(StaffApi):
    """Which version a unit gets now; enrols nobody and records nothing."""

    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter(
                "unit",
                {"type": "string", "pattern": r"^user:[0-9]{1,18}$"},
                required=True,
                description="user:<id>",
            )
        ],
        responses={200: AssignmentSerializer, 400: INVALID, 404: NOT_FOUND, **STAFF_ERRORS},
    )
    def get(self, request: Request, experiment_id: int) -> Response:
        experiment = selectors.experiment_get(experiment_id=experiment_id)
        assignment = selectors.experiment_assignment_for(
            experiment=experiment, unit=request.query_params.get("unit")
        )
        return Response(AssignmentSerializer(assignment).data)


class ModelRollbackApi(StaffApi):
    """The champion before the current one serves everyone (a running experiment stops)."""

    @extend_schema(
        tags=TAGS,
        request=RollbackSerializer,
        responses={200: ModelVersionSerializer, 400: INVALID, **STAFF_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = services.model_version_rollback(actor=request.user, **body.validated_data)
        return Response(ModelVersionSerializer(version, context={"live": {}}).data)


class ModelVersionListApi(ListAPIView):
    """Every version, newest first, with its held-out and live metrics."""

    permission_classes = [IsAdminUser]
    serializer_class = ModelVersionSerializer

    def get_queryset(self):
        return model_version_list()

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["live"] = rollout_metrics.version_metrics()
        return context

    @extend_schema(
        tags=TAGS,
        parameters=PAGE_PARAMETERS,
        responses={200: ModelVersionPageSerializer, **STAFF_ERRORS},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class ModelEventListApi(ListAPIView):
    """The audit log, newest first (append-only)."""

    permission_classes = [IsAdminUser]
    serializer_class = ModelEventSerializer

    def get_queryset(self):
        return selectors.model_event_list()

    @extend_schema(
        tags=TAGS,
        parameters=PAGE_PARAMETERS,
        responses={200: ModelEventPageSerializer, **STAFF_ERRORS},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)
