"""Staff API: which versions serve predictions now (the champion and the running arms)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mlmodel.rollout.apis import STAFF_ERRORS, TAGS
from mlmodel.rollout.selectors import experiment_running
from mlmodel.selectors import model_version_metrics_summary, model_versions_serving


class ServingModelVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    status = serializers.CharField(help_text="active = the champion.")
    role = serializers.SerializerMethodField(help_text="champion, challenger or shadow.")
    weight = serializers.SerializerMethodField(help_text="Percent of users it answers.")
    metrics = serializers.SerializerMethodField(help_text="Headline test-set metrics.")
    trained_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    is_demo = serializers.BooleanField(help_text="Trained on synthetic demo data.")
    training_data = serializers.JSONField(help_text="Fingerprint of the training rows.")
    artifact_sha256 = serializers.CharField()

    def _arm(self, obj):
        return self.context["arms"].get(obj.pk)

    def get_role(self, obj) -> str:
        arm = self._arm(obj)
        return arm.role if arm else "champion"

    def get_weight(self, obj) -> int:
        arm = self._arm(obj)
        return arm.weight if arm else 100

    def get_metrics(self, obj) -> dict:
        return model_version_metrics_summary(model_version=obj)


class ActiveModelVersionsApi(APIView):
    """The model versions answering predictions now, with their roles and weights."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=TAGS, responses={200: ServingModelVersionSerializer(many=True), **STAFF_ERRORS}
    )
    def get(self, request: Request) -> Response:
        running = experiment_running()
        arms = {arm.model_version_id: arm for arm in running.arms.all()} if running else {}
        versions = model_versions_serving()
        return Response(
            ServingModelVersionSerializer(versions, many=True, context={"arms": arms}).data
        )
