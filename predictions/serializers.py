"""API shapes for predictions and batch jobs (input field names = the data set's columns)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from mlmodel.core.profile import (
    COMPANY_SIZES,
    EMPLOYMENT_TYPES,
    EXPERIENCE_LEVELS,
    MAX_JOB_TITLE_LENGTH,
    MIN_WORK_YEAR,
    REMOTE_RATIOS,
    ProfileError,
    parse_profile,
)
from mlmodel.core.taxonomy import job_family
from portal.api.openapi import PageSerializer
from predictions.display import feature_label
from predictions.forms import EARLIEST_HISTORY_DATE
from predictions.models import BatchJob, JobStatus, Prediction

# Country names can be long ("United Kingdom of Great Britain and Northern Ireland").
COUNTRY_MAX_LENGTH = 100


class UpperChoiceField(serializers.ChoiceField):
    """A code field that accepts any letter case ("se" → "SE"), like CSV and form input."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip().upper()
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Text only: a number where a title or country belongs is a client bug, not a value."""

    default_error_messages = {"not_text": "Expected text, got {type}."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text", type=type(data).__name__)
        return super().to_internal_value(data)


class ProfileInputSerializer(serializers.Serializer):
    """One job profile; the types are checked here, the rules by ``parse_profile``."""

    job_title = StrictCharField(
        max_length=MAX_JOB_TITLE_LENGTH,
        help_text="Any job title; unknown titles are mapped to a job family by keywords.",
    )
    experience_level = UpperChoiceField(choices=list(EXPERIENCE_LEVELS.items()))
    employment_type = UpperChoiceField(choices=list(EMPLOYMENT_TYPES.items()))
    company_location = StrictCharField(
        max_length=COUNTRY_MAX_LENGTH,
        help_text="ISO 3166-1 alpha-2 code (e.g. US) or exact English name.",
    )
    employee_residence = StrictCharField(
        max_length=COUNTRY_MAX_LENGTH,
        help_text="ISO 3166-1 alpha-2 code (e.g. DE) or exact English name.",
    )
    remote_ratio = serializers.ChoiceField(
        choices=list(REMOTE_RATIOS.items()), help_text="0 on-site, 50 hybrid, 100 fully remote."
    )
    company_size = UpperChoiceField(choices=list(COMPANY_SIZES.items()))
    work_year = serializers.IntegerField(
        min_value=MIN_WORK_YEAR, help_text="Year the salary is paid (up to next year)."
    )

    def validate(self, attrs):
        try:
            attrs["profile"] = parse_profile(attrs)
        except ProfileError as exc:
            raise serializers.ValidationError(exc.errors) from None
        return attrs


class ProfileOutputSerializer(serializers.Serializer):
    job_title = serializers.CharField()
    experience_level = serializers.CharField()
    employment_type = serializers.CharField()
    company_location = serializers.CharField()
    employee_residence = serializers.CharField()
    remote_ratio = serializers.IntegerField()
    company_size = serializers.CharField()
    work_year = serializers.IntegerField()


class ContributionSerializer(serializers.Serializer):
    feature = serializers.CharField(help_text="The input field (data set column name).")
    label = serializers.CharField(help_text="What it means for this profile, in words.")
    usd = serializers.IntegerField(help_text="Its effect on the estimate, in US dollars.")


class PredictionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    channel = serializers.CharField()
    inputs = ProfileOutputSerializer()
    job_family = serializers.SerializerMethodField()
    estimate_usd = serializers.IntegerField()
    interval_low_usd = serializers.IntegerField()
    interval_high_usd = serializers.IntegerField()
    interval_level = serializers.FloatField(help_text="E.g. 0.9 for a 90% interval.")
    contributions = serializers.SerializerMethodField()
    model_version = serializers.IntegerField(source="model_version.version")
    is_demo = serializers.BooleanField(
        source="model_version.is_demo", help_text="The model was trained on synthetic data."
    )

    def get_url(self, obj: Prediction) -> str:
        return reverse(
            "api-prediction-detail",
            kwargs={"prediction_id": obj.pk},
            request=self.context.get("request"),
        )

    def get_job_family(self, obj: Prediction) -> str:
        return job_family(str(obj.inputs.get("job_title", "")))

    @extend_schema_field(ContributionSerializer(many=True))
    def get_contributions(self, obj: Prediction) -> list[dict]:
        return [
            {
                "feature": item["feature"],
                "label": feature_label(item["feature"], obj.inputs),
                "usd": item["usd"],
            }
            for item in obj.contributions
        ]


class DateRangeQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False, help_text="First day (inclusive).")
    date_to = serializers.DateField(required=False, help_text="Last day (inclusive).")

    def validate(self, attrs):
        date_from, date_to = attrs.get("date_from"), attrs.get("date_to")
        for name, day in (("date_from", date_from), ("date_to", date_to)):
            if day is not None and day < EARLIEST_HISTORY_DATE:
                raise serializers.ValidationError(
                    {name: [f"Choose a date on or after {EARLIEST_HISTORY_DATE.isoformat()}."]}
                )
        if date_from and date_to and date_from > date_to:
            raise serializers.ValidationError(
                {"date_to": ["The end date must be on or after the start date."]}
            )
        return attrs


class BatchRowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line number in the uploaded file (header = 1).")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name → messages.",
    )


class BatchRowResultSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    inputs = serializers.DictField(
        child=serializers.CharField(allow_blank=True), help_text="The row's cells, by column."
    )
    estimate_usd = serializers.IntegerField()
    interval_low_usd = serializers.IntegerField()
    interval_high_usd = serializers.IntegerField()
    interval_level = serializers.FloatField()
    model_version = serializers.IntegerField()


class BatchResultSerializer(serializers.Serializer):
    job = serializers.URLField(help_text="The stored batch job.")
    rows = BatchRowResultSerializer(many=True)
    errors = BatchRowErrorSerializer(many=True)


class BatchJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    file_name = serializers.CharField()
    row_count = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    progress_percent = serializers.IntegerField()
    predicted_count = serializers.IntegerField()
    error_count = serializers.IntegerField()
    row_errors = BatchRowErrorSerializer(
        many=True, help_text="Bad rows (the first 1,000; the result file has them all)."
    )
    model_version = serializers.IntegerField(source="model_version.version", allow_null=True)
    message = serializers.CharField()
    result_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_url(self, obj: BatchJob) -> str:
        return reverse(
            "api-batch-job-detail", kwargs={"job_id": obj.pk}, request=self.context.get("request")
        )

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_result_url(self, obj: BatchJob) -> str | None:
        if obj.status != JobStatus.SUCCEEDED:
            return None
        return reverse(
            "api-batch-job-result", kwargs={"job_id": obj.pk}, request=self.context.get("request")
        )


class BatchJobSummarySerializer(BatchJobSerializer):
    """A list entry: the same job without its per-row errors."""

    row_errors = None


class PredictionPageSerializer(PageSerializer):
    results = PredictionOutputSerializer(many=True)


class BatchJobPageSerializer(PageSerializer):
    results = BatchJobSummarySerializer(many=True)
