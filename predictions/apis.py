"""Prediction API (DRF): one profile, one's own history, and batch CSV files.

Each endpoint validates with a serializer, calls one service or selector and renders. Errors
leave through the project's exception handler as ``{"errors": {field: [messages]}}``.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.decorators import method_decorator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiRequest,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from mlmodel.core.profile import EXAMPLE_PROFILE, PROFILE_FIELDS
from portal.accounts.models import ApiToken
from portal.api.fields import RuleField
from portal.api.openapi import (
    DEPENDENCY_DOWN,
    INVALID,
    NO_SUCH_PAGE,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    PAGE_PARAMETERS,
    RATE_LIMITED,
    UNSUPPORTED_MEDIA,
    ErrorSerializer,
)
from portal.api.pagination import StandardPagination
from portal.api.parsers import BoundedJSONParser
from portal.exceptions import Conflict, InvalidInput, NotFound
from portal.net import content_length
from predictions import rules, selectors, services
from predictions.batch import CSV_FILE_PATTERN, MULTIPART_OVERHEAD_BYTES, result_file_name
from predictions.models import Channel, JobStatus
from predictions.parsers import CSV_MEDIA_TYPE, CsvBodyParser
from predictions.ratelimits import batch_limit, predict_limit
from predictions.serializers import (
    BatchJobPageSerializer,
    BatchJobSerializer,
    BatchJobSummarySerializer,
    BatchResultSerializer,
    DateRangeQuerySerializer,
    PredictionOutputSerializer,
    PredictionPageSerializer,
    ProfileInputSerializer,
)

JSON_MEDIA_TYPE = "application/json"
MULTIPART_MEDIA_TYPE = "multipart/form-data"
UPLOAD_FIELD = "file"
BODY_FILE_NAME = "body.csv"

TOO_LARGE = OpenApiResponse(ErrorSerializer, description="File too large or too many rows")
NOT_ACCEPTABLE = OpenApiResponse(
    ErrorSerializer, description="The requested format or Accept type is not offered"
)


class CsvRenderer(BaseRenderer):
    """Passes bytes through as ``text/csv``; views return CSV only as bytes."""

    media_type = CSV_MEDIA_TYPE
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return data if isinstance(data, bytes) else str(data).encode(self.charset)


class CsvOrJsonMixin:
    """Bytes go out as CSV, everything else (jobs, errors) as JSON, whatever was negotiated."""

    renderer_classes = [CsvRenderer, JSONRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):
            renderer = CsvRenderer() if isinstance(response.data, bytes) else JSONRenderer()
            request.accepted_renderer = renderer
            request.accepted_media_type = renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def _request_id(request: Request) -> str:
    return getattr(request._request, "request_id", "")


@method_decorator(predict_limit, name="post")
class PredictionListCreateApi(APIView):
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="predictions_create",
        summary="Estimate the salary for one job profile",
        description=(
            "Field names are the data set's column names. The answer is stored and appears in "
            "your history. Rate-limited per user (429 with Retry-After)."
        ),
        request=ProfileInputSerializer,
        responses={
            201: PredictionOutputSerializer,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            413: OpenApiResponse(ErrorSerializer, description="Request body too large"),
            415: UNSUPPORTED_MEDIA,
            429: RATE_LIMITED,
            503: OpenApiResponse(
                ErrorSerializer,
                description="No model can answer, or a service it needs is down; retry later",
            ),
        },
        examples=[
            OpenApiExample(
                "Senior data scientist in the US",
                request_only=True,
                value=EXAMPLE_PROFILE.as_dict(),
            )
        ],
        tags=["predictions"],
    )
    def post(self, request: Request) -> Response:
        serializer = ProfileInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        prediction = services.prediction_create(
            user=request.user,
            profile=serializer.validated_data["profile"],
            channel=Channel.API,
            api_token=request.auth if _is_token(request) else None,
            request_id=_request_id(request),
        )
        body = PredictionOutputSerializer.represent(prediction, context={"request": request})
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="predictions_list",
        summary="Your predictions, newest first",
        description=(
            "Single estimates made on the web form and through this API. A batch file's "
            "estimates are not listed here: they are in that job's results "
            "(`GET /api/v1/predictions/batch/{job_id}/result/`)."
        ),
        parameters=[DateRangeQuerySerializer, *PAGE_PARAMETERS],
        responses={
            200: PredictionPageSerializer,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            404: NO_SUCH_PAGE,
        },
        tags=["predictions"],
    )
    def get(self, request: Request) -> Response:
        query = DateRangeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        predictions = selectors.prediction_list_for_user(user=request.user, **query.validated_data)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(predictions, request, view=self)
        data = PredictionOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


def _is_token(request: Request) -> bool:
    return isinstance(request.auth, ApiToken)


class PredictionDetailApi(APIView):
    @extend_schema(
        operation_id="predictions_retrieve",
        summary="One of your predictions",
        responses={200: PredictionOutputSerializer, 401: NOT_AUTHENTICATED, 404: NOT_FOUND},
        tags=["predictions"],
    )
    def get(self, request: Request, prediction_id: int) -> Response:
        prediction = selectors.prediction_get_for_user(
            user=request.user, prediction_id=prediction_id
        )
        if prediction is None:
            raise NotFound({"detail": ["Prediction not found."]})
        return Response(
            PredictionOutputSerializer.represent(prediction, context={"request": request})
        )


BATCH_CSV_EXAMPLE = (
    "job_title,experience_level,employment_type,company_location,employee_residence,"
    "remote_ratio,company_size,work_year\n"
    "Data Scientist,SE,FT,US,US,0,M,2024\n"
    "ML Engineer,MI,FT,DE,DE,100,L,2024\n"
)

BATCH_UPLOAD_MEGABYTES = settings.BATCH_UPLOAD_MAX_BYTES / rules.BYTES_PER_MEGABYTE
BATCH_FILE_TEXT = (
    f"A UTF-8 CSV file of at most {BATCH_UPLOAD_MEGABYTES:g} MB and "
    f"{settings.BATCH_MAX_ROWS:,} rows (413 beyond). Its first line is a header naming the "
    f"columns {', '.join(PROFILE_FIELDS)} (any order and letter case; other columns are "
    "ignored), followed by at least one row. Each row is checked like a single profile; bad "
    "rows are answered with their errors and do not stop the others."
)
# What the schema can promise is accepted (the header in its documented order); the
# description says in words what else is.
BATCH_FILE_SCHEMA = {"type": "string", "pattern": CSV_FILE_PATTERN, "description": BATCH_FILE_TEXT}
BATCH_UPLOAD_REQUEST = OpenApiRequest(
    inline_serializer(
        name="BatchUpload",
        fields={UPLOAD_FIELD: RuleField(schema=BATCH_FILE_SCHEMA)},
    ),
    encoding={UPLOAD_FIELD: {"contentType": CSV_MEDIA_TYPE}},
)
BATCH_CSV_BODY_REQUEST = OpenApiRequest(
    BATCH_FILE_SCHEMA,
    examples=[
        OpenApiExample(
            "Two job profiles",
            media_type=CSV_MEDIA_TYPE,
            value=BATCH_CSV_EXAMPLE,
        )
    ],
)


class FileBodySchema(AutoSchema):
    """A batch upload always carries its file; drf-spectacular cannot tell from a raw schema."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body is not None:
            body["required"] = True
        return body


@method_decorator(batch_limit, name="post")
class BatchCreateApi(CsvOrJsonMixin, APIView):
    parser_classes = [MultiPartParser, CsvBodyParser]
    schema = FileBodySchema()

    @extend_schema(
        operation_id="predictions_batch_create",
        summary="Estimate salaries for a CSV file of job profiles",
        description=(
            "Send the file as multipart field `file` or as a `text/csv` body (UTF-8, header "
            "required, extra columns ignored). Files up to the synchronous limit are answered "
            "at once: a CSV (input columns + estimate_usd, interval_low_usd, "
            "interval_high_usd, interval_level, model_version, title_match, title_treated_as, "
            "error; title_match is exact, normalised, family_rule or unknown, as for one "
            "prediction: unknown = a title we did not recognise) or, with "
            "`Accept: application/json`, JSON rows and per-line errors. Larger files become a "
            "background job: 202 with the job, poll its URL."
        ),
        request={
            MULTIPART_MEDIA_TYPE: BATCH_UPLOAD_REQUEST,
            CSV_MEDIA_TYPE: BATCH_CSV_BODY_REQUEST,
        },
        responses={
            (200, CSV_MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.STR, description="The results file (one row per input row)"
            ),
            (200, JSON_MEDIA_TYPE): BatchResultSerializer,
            (202, JSON_MEDIA_TYPE): BatchJobSerializer,
            (400, JSON_MEDIA_TYPE): INVALID,
            (401, JSON_MEDIA_TYPE): NOT_AUTHENTICATED,
            (406, JSON_MEDIA_TYPE): NOT_ACCEPTABLE,
            (413, JSON_MEDIA_TYPE): TOO_LARGE,
            (415, JSON_MEDIA_TYPE): UNSUPPORTED_MEDIA,
            (429, JSON_MEDIA_TYPE): RATE_LIMITED,
            (503, JSON_MEDIA_TYPE): DEPENDENCY_DOWN,
        },
        tags=["predictions"],
    )
    def post(self, request: Request) -> Response:
        # Refused unread: even without its multipart framing the file would be too large.
        rules.batch_upload_size_check(size=content_length(request) - MULTIPART_OVERHEAD_BYTES)
        file_name, data = _uploaded_file(request)
        job = services.batch_job_create(
            user=request.user,
            file_name=file_name,
            data=data,
            api_token=request.auth if _is_token(request) else None,
        )
        context = {"request": request}
        if job.status != JobStatus.SUCCEEDED:
            response = Response(
                BatchJobSerializer(job, context=context).data, status=status.HTTP_202_ACCEPTED
            )
            response["Location"] = BatchJobSerializer(job, context=context).data["url"]
            return response
        if request.accepted_renderer.format == CsvRenderer.format:
            result = selectors.batch_job_result_csv(job=job) or b""
            response = Response(result, status=status.HTTP_200_OK)
            response["Content-Disposition"] = (
                f'attachment; filename="{result_file_name(job.file_name, job.pk)}"'
            )
            return response
        body = {
            "job": reverse("api-batch-job-detail", kwargs={"job_id": job.pk}, request=request),
            "rows": selectors.batch_job_result_rows(job=job),
            "errors": job.row_errors,
        }
        return Response(BatchResultSerializer(body).data, status=status.HTTP_200_OK)

    @extend_schema(
        operation_id="predictions_batch_list",
        summary="Your batch jobs, newest first",
        parameters=PAGE_PARAMETERS,
        responses={
            (200, JSON_MEDIA_TYPE): BatchJobPageSerializer,
            (400, JSON_MEDIA_TYPE): INVALID,
            (401, JSON_MEDIA_TYPE): NOT_AUTHENTICATED,
            (404, JSON_MEDIA_TYPE): NO_SUCH_PAGE,
            (406, JSON_MEDIA_TYPE): NOT_ACCEPTABLE,
        },
        tags=["predictions"],
    )
    def get(self, request: Request) -> Response:
        paginator = StandardPagination()
        page = paginator.paginate_queryset(
            selectors.batch_job_list_for_user(user=request.user), request, view=self
        )
        data = BatchJobSummarySerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


def _uploaded_file(request: Request) -> tuple[str, bytes]:
    """The CSV from a ``text/csv`` body or the multipart field ``file`` (a file or text); 400
    when missing."""
    data = request.data
    if isinstance(data, bytes):
        if not data:
            raise InvalidInput({UPLOAD_FIELD: ["The request body is empty."]})
        return BODY_FILE_NAME, data
    upload = data.get(UPLOAD_FIELD) if hasattr(data, "get") else None
    if isinstance(upload, str):
        # The part came without a file name: the CSV as text, which the schema allows too.
        content = upload.encode("utf-8")
        rules.batch_upload_size_check(size=len(content))
        return BODY_FILE_NAME, content
    if upload is None or not hasattr(upload, "read"):
        raise InvalidInput(
            {UPLOAD_FIELD: ["Send the CSV as multipart field 'file' or as a text/csv body."]}
        )
    rules.batch_upload_size_check(size=upload.size)
    return upload.name, upload.read()


class BatchJobDetailApi(APIView):
    @extend_schema(
        operation_id="predictions_batch_retrieve",
        summary="Status and progress of one of your batch jobs",
        responses={200: BatchJobSerializer, 401: NOT_AUTHENTICATED, 404: NOT_FOUND},
        tags=["predictions"],
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = selectors.batch_job_get_for_user(user=request.user, job_id=job_id)
        if job is None:
            raise NotFound({"detail": ["Batch job not found."]})
        return Response(BatchJobSerializer(job, context={"request": request}).data)


class BatchJobResultApi(CsvOrJsonMixin, APIView):
    @extend_schema(
        operation_id="predictions_batch_result",
        summary="Download the results file of a finished batch job",
        responses={
            (200, CSV_MEDIA_TYPE): OpenApiResponse(OpenApiTypes.STR, description="Results CSV"),
            (401, JSON_MEDIA_TYPE): NOT_AUTHENTICATED,
            (404, JSON_MEDIA_TYPE): NOT_FOUND,
            (406, JSON_MEDIA_TYPE): NOT_ACCEPTABLE,
            (409, JSON_MEDIA_TYPE): OpenApiResponse(
                ErrorSerializer, description="The job has not succeeded (yet)"
            ),
        },
        tags=["predictions"],
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = selectors.batch_job_get_for_user(user=request.user, job_id=job_id)
        if job is None:
            raise NotFound({"detail": ["Batch job not found."]})
        if job.status != JobStatus.SUCCEEDED:
            raise Conflict(
                {"detail": [f"The job is {job.status}; results exist once it has succeeded."]}
            )
        data = selectors.batch_job_result_csv(job=job) or b""
        response = Response(data)
        response["Content-Disposition"] = (
            f'attachment; filename="{result_file_name(job.file_name, job.pk)}"'
        )
        return response
