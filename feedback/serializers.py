"""API shapes for feedback."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from feedback.models import MAX_COMMENT_LENGTH, Feedback, Rating
from mlmodel.core.profile import MAX_SALARY_USD, MIN_SALARY_USD
from mlmodel.models import ReviewStatus
from portal.api.openapi import PageSerializer


class FeedbackInputSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(choices=Rating.choices)
    actual_salary_usd = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=MIN_SALARY_USD,
        max_value=MAX_SALARY_USD,
        help_text="Your real yearly salary in US dollars; omit or null to share none.",
    )
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_COMMENT_LENGTH,
        trim_whitespace=False,
        default="",
    )


class FeedbackOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    prediction = serializers.IntegerField(source="prediction_id")
    rating = serializers.ChoiceField(choices=Rating.choices)
    actual_salary_usd = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField()
    training_status = serializers.SerializerMethodField(
        help_text="What happened to the salary you shared: approved for training, held for "
        "review or rejected; null when you shared none."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ChoiceField(choices=ReviewStatus.choices, allow_null=True))
    def get_training_status(self, obj: Feedback) -> str | None:
        record = obj.training_record
        return record.review_status if record is not None else None


class FeedbackPageSerializer(PageSerializer):
    results = FeedbackOutputSerializer(many=True)
