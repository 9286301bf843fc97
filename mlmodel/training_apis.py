"""Staff API for retraining: start a run (202) and follow it to its candidate version."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from mlmodel.models import TrainingTrigger
from mlmodel.training_runs import MAX_SEED, training_run_request
from mlmodel.training_selectors import training_run_get
from portal.api.openapi import (
    DEPENDENCY_DOWN,
    INVALID,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    UNSUPPORTED_MEDIA,
    ErrorSerializer,
)
from portal.api.parsers import BoundedJSONParser

FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Signed in, but not staff")
BUSY = OpenApiResponse(ErrorSerializer, description="Another training run is pending or running")


class TrainingRunRequestSerializer(serializers.Serializer):
    seed = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_SEED, help_text="Training seed (default 42)."
    )


class TrainingRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    status = serializers.CharField(help_text="pending, running, succeeded or failed.")
    stage = serializers.CharField(help_text="loading data, training, calibrating, … saving.")
    progress_percent = serializers.IntegerField()
    message = serializers.CharField(help_text="Why the run failed (empty otherwise).")
    trigger = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    stage_seconds = serializers.DictField(child=serializers.FloatField())
    model_version = serializers.IntegerField(
        source="model_version.version", allow_null=True, help_text="The candidate it stored."
    )
    gate_passed = serializers.BooleanField(allow_null=True)
    gate = serializers.SerializerMethodField(help_text='{"passed": …, "reasons": […]}')
    comparison = serializers.SerializerMethodField(
        help_text="Candidate and champion on the same held-out rows (MAE, coverage)."
    )
    activation = serializers.JSONField(help_text="What the activation policy did.")

    def get_url(self, obj) -> str:
        return reverse(
            "api-training-run-detail", kwargs={"run_id": obj.pk}, request=self.context["request"]
        )

    def _metric(self, obj, name: str) -> dict | None:
        version = obj.model_version
        return (version.metrics or {}).get(name) if version is not None else None

    def get_gate(self, obj) -> dict | None:
        return self._metric(obj, "gate")

    def get_comparison(self, obj) -> dict | None:
        return self._metric(obj, "comparison")


class TrainingRunCreateApi(APIView):
    """Start a retraining run (staff only): answered at once, the work runs in a worker."""

    permission_classes = [IsAdminUser]
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="training_runs_create",
        summary="Start a retraining run (staff)",
        tags=["training"],
        request=TrainingRunRequestSerializer,
        responses={
            202: TrainingRunSerializer,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            409: BUSY,
            413: OpenApiResponse(ErrorSerializer, description="Request body too large"),
            415: UNSUPPORTED_MEDIA,
            503: DEPENDENCY_DOWN,
        },
        description="Queue a training run: 202 with the run; poll its `url` for progress. "
        "Refused (409, naming the run) while another run is pending or running.",
    )
    def post(self, request: Request) -> Response:
        body = TrainingRunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = training_run_request(
            trigger=TrainingTrigger.API, actor=request.user, **body.validated_data
        )
        run = training_run_get(run_id=run.pk)
        data = TrainingRunSerializer(run, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class TrainingRunDetailApi(APIView):
    """One training run: its stage and percent, then its candidate, gate and comparison."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="training_runs_retrieve",
        summary="State of one retraining run (staff)",
        tags=["training"],
        responses={
            200: TrainingRunSerializer,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = training_run_get(run_id=run_id)
        return Response(TrainingRunSerializer(run, context={"request": request}).data)
