"""Read-only API over the model registry: which versions serve predictions now."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mlmodel.selectors import model_version_metrics_summary, model_versions_serving
from portal.api.openapi import NOT_AUTHENTICATED


class ServingModelVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    status = serializers.CharField()
    traffic_share = serializers.IntegerField(help_text="Percent of predictions it answers.")
    metrics = serializers.SerializerMethodField(help_text="Headline test-set metrics.")
    trained_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    is_demo = serializers.BooleanField(help_text="Trained on synthetic demo data.")
    training_data = serializers.JSONField(help_text="Fingerprint of the training rows.")
    artifact_sha256 = serializers.CharField()

    def get_metrics(self, obj) -> dict:
        return model_version_metrics_summary(model_version=obj)


class ActiveModelVersionsApi(APIView):
    """The model versions answering predictions now, with their traffic shares."""

    @extend_schema(
        responses={
            200: ServingModelVersionSerializer(many=True),
            401: NOT_AUTHENTICATED,
        }
    )
    def get(self, request: Request) -> Response:
        versions = model_versions_serving()
        return Response(ServingModelVersionSerializer(versions, many=True).data)
