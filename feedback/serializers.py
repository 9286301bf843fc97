"""API shapes for feedback."""

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from feedback.models import MAX_COMMENT_LENGTH, Feedback, Rating
from feedback.rules import feedback_fields
from mlmodel.core.profile import MAX_SALARY_USD, MIN_SALARY_USD
from mlmodel.models import ReviewStatus
from portal.api.fields import RuleField
from portal.api.openapi import PageSerializer
from portal.api.serializers import FixedFieldsSerializer
from portal.exceptions import InvalidInput

NO_NUL_PATTERN = "^[^\\u0000]*$"


class FeedbackInputSerializer(FixedFieldsSerializer):
    """Checked by ``feedback.rules.feedback_fields``, like the feedback box: all errors at once."""

    rating = RuleField(schema={"type": "string", "enum": list(Rating.values)})
    actual_salary_usd = RuleField(
        schema={
            "type": "integer",
            "minimum": MIN_SALARY_USD,
            "maximum": MAX_SALARY_USD,
            "nullable": True,
        },
        required=False,
        help_text="Your real yearly salary in US dollars; omit or null to share none.",
    )
    comment = RuleField(
        schema={"type": "string", "maxLength": MAX_COMMENT_LENGTH, "pattern": NO_NUL_PATTERN},
        required=False,
        default="",
        help_text="Kept as you typed it (no NUL characters).",
    )

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's "expected a dictionary" error
        try:
            fields = feedback_fields(
                rating=data.get("rating"),
                actual_salary_usd=data.get("actual_salary_usd"),
                comment=data.get("comment", ""),
            )
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.errors) from None
        return {
            "rating": fields.rating,
            "actual_salary_usd": fields.actual_salary_usd,
            "comment": fields.comment,
        }


class FeedbackOutputSerializer(FixedFieldsSerializer):
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
