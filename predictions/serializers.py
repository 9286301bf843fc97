"""API shapes for predictions and batch jobs (input field names = the data set's columns)."""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from mlmodel.core.profile import (
    COMPANY_SIZES,
    COUNTRIES,
    COUNTRY_NAMES,
    EMPLOYMENT_TYPES,
    EXPERIENCE_LEVELS,
    MAX_COUNTRY_TEXT_LENGTH,
    MAX_JOB_TITLE_LENGTH,
    MIN_WORK_YEAR,
    NON_BLANK_TEXT_PATTERN,
    REMOTE_RATIOS,
    ProfileError,
    code_spelling_pattern,
    max_work_year,
    parse_profile,
)
from mlmodel.core.taxonomy import job_family, match_title
from portal.api.fields import RuleField
from portal.api.openapi import PageSerializer
from portal.api.serializers import FixedFieldsSerializer
from portal.exceptions import InvalidInput
from predictions import rules
from predictions.display import feature_label
from predictions.models import BatchJob, JobStatus, Prediction, TitleMatch

COUNTRY_COMPONENT = "Country"


def code_schema(codes: Mapping[str, str]) -> dict:
    """One of the codes; the rule also takes any letter case and surrounding spaces."""
    return {
        "type": "string",
        "anyOf": [{"enum": list(codes)}, {"pattern": code_spelling_pattern(codes)}],
    }


JOB_TITLE_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_JOB_TITLE_LENGTH,
    "pattern": NON_BLANK_TEXT_PATTERN,
}
COUNTRY_SCHEMA = {
    "type": "string",
    "maxLength": MAX_COUNTRY_TEXT_LENGTH,
    "anyOf": [
        {"enum": list(COUNTRIES)},
        {"pattern": code_spelling_pattern(COUNTRIES)},
        {"enum": list(COUNTRY_NAMES)},
    ],
    "description": "An ISO 3166-1 alpha-2 code in any letter case, or an exact English country "
    "name (letter case and repeated spaces are forgiven).",
}
REMOTE_RATIO_SCHEMA = {"type": "integer", "enum": list(REMOTE_RATIOS)}


def work_year_schema() -> dict:
    """The latest work year is next year, so the bound moves on 1 January."""
    return {"type": "integer", "minimum": MIN_WORK_YEAR, "maximum": max_work_year()}


HISTORY_DATE_SCHEMA = {"type": "string", "format": "date", "pattern": rules.HISTORY_DATE_PATTERN}
HISTORY_RANGE_TEXT = (
    f"{rules.EARLIEST_HISTORY_DATE.isoformat()} to {rules.LATEST_HISTORY_DATE.isoformat()}"
)


class ProfileInputSerializer(FixedFieldsSerializer):
    """One job profile, checked by ``parse_profile`` (the same rule as the form and batch files)
    with JSON's own types: all field errors come back at once."""

    job_title = RuleField(
        schema=JOB_TITLE_SCHEMA,
        help_text="Any job title; unknown titles are mapped to a job family by keywords.",
    )
    experience_level = RuleField(
        schema=code_schema(EXPERIENCE_LEVELS),
        help_text=", ".join(f"{code} {label}" for code, label in EXPERIENCE_LEVELS.items()),
    )
    employment_type = RuleField(
        schema=code_schema(EMPLOYMENT_TYPES),
        help_text=", ".join(f"{code} {label}" for code, label in EMPLOYMENT_TYPES.items()),
    )
    company_location = RuleField(
        schema=COUNTRY_SCHEMA, component=COUNTRY_COMPONENT, help_text="Where the company is."
    )
    employee_residence = RuleField(
        schema=COUNTRY_SCHEMA, component=COUNTRY_COMPONENT, help_text="Where the employee lives."
    )
    remote_ratio = RuleField(
        schema=REMOTE_RATIO_SCHEMA, help_text="0 on-site, 50 hybrid, 100 fully remote."
    )
    company_size = RuleField(
        schema=code_schema(COMPANY_SIZES),
        help_text=", ".join(f"{code} {label}" for code, label in COMPANY_SIZES.items()),
    )
    work_year = RuleField(
        schema=work_year_schema, help_text="Year the salary is paid (up to next year)."
    )

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's "expected a dictionary" error
        try:
            return {"profile": parse_profile(data, strict_types=True)}
        except ProfileError as exc:
            raise serializers.ValidationError(exc.errors) from None


class ProfileOutputSerializer(FixedFieldsSerializer):
    job_title = serializers.CharField()
    experience_level = serializers.CharField()
    employment_type = serializers.CharField()
    company_location = serializers.CharField()
    employee_residence = serializers.CharField()
    remote_ratio = serializers.IntegerField()
    company_size = serializers.CharField()
    work_year = serializers.IntegerField()


class ContributionSerializer(FixedFieldsSerializer):
    feature = serializers.CharField(help_text="The input field (data set column name).")
    label = serializers.CharField(help_text="What it means for this profile, in words.")
    usd = serializers.IntegerField(help_text="Its effect on the estimate, in US dollars.")


class PredictionOutputSerializer(FixedFieldsSerializer):
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
    title_match = serializers.ChoiceField(
        choices=TitleMatch.choices,
        allow_blank=True,
        help_text=(
            "How the model read `job_title`: `exact` (a title in the data), `normalised` (a "
            "title in the data, spelled differently, e.g. 'Sr. ML Eng.'), `family_rule` (not in "
            "the data: estimated from the job family its words name, see `title_treated_as`; a "
            "generic title such as 'Manager' keeps only part of its title effect, see "
            "`title_weight`) "
            "or `unknown` (not recognised: the estimate uses no title information, so it is "
            "the typical salary for the rest of the profile). Empty for estimates made before "
            "this was recorded."
        ),
    )
    title_treated_as = serializers.SerializerMethodField(
        help_text="The data set's title or the job family the model used for `job_title`."
    )
    title_weight = serializers.FloatField(
        allow_null=True,
        help_text=(
            "For `family_rule`: the share of such a title's usual effect the estimate kept "
            "(1 = all; less for a generic or out-of-field title, whose family is a guess). "
            "Null for other titles and for estimates made before this was recorded."
        ),
    )

    def get_title_treated_as(self, obj: Prediction) -> str:
        if not obj.title_match:
            return ""
        return match_title(str(obj.inputs.get("job_title", ""))).treated_as

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


class DateRangeQuerySerializer(FixedFieldsSerializer):
    """The history filter, checked by ``rules.history_date_range`` like the HTML filter."""

    date_from = RuleField(
        schema=HISTORY_DATE_SCHEMA,
        required=False,
        help_text=f"First day (inclusive), {HISTORY_RANGE_TEXT}.",
    )
    date_to = RuleField(
        schema=HISTORY_DATE_SCHEMA,
        required=False,
        help_text=f"Last day (inclusive), {HISTORY_RANGE_TEXT}.",
    )

    def to_internal_value(self, data):
        try:
            date_from, date_to = rules.history_date_range(
                date_from=data.get("date_from"), date_to=data.get("date_to")
            )
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.errors) from None
        return {"date_from": date_from, "date_to": date_to}


class BatchRowErrorSerializer(FixedFieldsSerializer):
    line = serializers.IntegerField(help_text="Line number in the uploaded file (header = 1).")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name → messages.",
    )


class BatchRowResultSerializer(FixedFieldsSerializer):
    line = serializers.IntegerField()
    inputs = serializers.DictField(
        child=serializers.CharField(allow_blank=True), help_text="The row's cells, by column."
    )
    estimate_usd = serializers.IntegerField()
    interval_low_usd = serializers.IntegerField()
    interval_high_usd = serializers.IntegerField()
    interval_level = serializers.FloatField()
    model_version = serializers.IntegerField()


class BatchResultSerializer(FixedFieldsSerializer):
    job = serializers.URLField(help_text="The stored batch job.")
    rows = BatchRowResultSerializer(many=True)
    errors = BatchRowErrorSerializer(many=True)


class BatchJobSerializer(FixedFieldsSerializer):
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
