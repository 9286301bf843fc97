"""HTML pages for predictions: the form, the result, the history and batch files.

Views validate input with a form, call one service or selector, and render.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from mlmodel.core.profile import (
    PROFILE_FIELDS,
)
from mlmodel.core.taxonomy import KNOWN_JOB_TITLES
from portal.errors import http_status
from portal.exceptions import ServiceError
from predictions import selectors, services
from predictions.batch import TEMPLATE_FILE_NAME, result_file_name, template_csv
from predictions.exports import EXPORT_CHUNK_SIZE, history_csv_lines
from predictions.forms import BatchUploadForm, HistoryFilterForm, PredictionForm
from predictions.models import Channel, JobStatus
from predictions.presentation import prediction_detail_context
from predictions.ratelimits import batch_limit, predict_limit

logger = logging.getLogger(__name__)

HISTORY_PAGE_SIZE = 20
BATCH_PAGE_SIZE = 20
SHOWN_ROW_ERRORS = 100
REFRESH_SECONDS = 2
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
HTTP_BAD_REQUEST = 400
HTTP_CONTENT_TOO_LARGE = 413
RUNNING_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)
ALREADY_PREDICTED_MESSAGE = "This form was already sent: here is the estimate it gave."
ALREADY_UPLOADED_MESSAGE = "This upload was already sent: here is its job."


def _apply_service_error(form, exc: ServiceError) -> None:
    for name, field_messages in exc.errors.items():
        form.add_error(name if name in form.fields else None, field_messages)


@login_required
@require_http_methods(["GET", "POST"])
@predict_limit
def prediction_create(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = PredictionForm(request.POST)
        if form.is_valid():
            try:
                submitted = services.prediction_create_once(
                    user=request.user,
                    profile=form.profile,
                    submission=form.cleaned_data["submission"],
                    request_id=getattr(request, "request_id", ""),
                )
            except ServiceError as exc:
                _apply_service_error(form, exc)
                status = http_status(exc)
            else:
                if not submitted.created:
                    messages.info(request, ALREADY_PREDICTED_MESSAGE)
                return redirect("predictions:detail", prediction_id=submitted.object.pk)
        else:
            status = HTTP_BAD_REQUEST
    else:
        form = PredictionForm()
    context = {"form": form, "known_job_titles": KNOWN_JOB_TITLES, "field_names": PROFILE_FIELDS}
    return render(request, "predictions/create.html", context, status=status)


@login_required
@require_GET
def prediction_detail(request: HttpRequest, prediction_id: int) -> HttpResponse:
    prediction = selectors.prediction_get_for_user(user=request.user, prediction_id=prediction_id)
    if prediction is None:
        raise Http404("No such prediction.")
    context = prediction_detail_context(request=request, prediction=prediction)
    return render(request, "predictions/detail.html", context)


@login_required
@require_GET
def prediction_history(request: HttpRequest) -> HttpResponseBase:
    """Own predictions, newest first; ``?format=csv`` streams the same filtered list."""
    filter_form = HistoryFilterForm(request.GET)
    filter_ok = filter_form.is_valid()
    wants_csv = request.GET.get("format") == "csv"
    if wants_csv and not filter_ok:
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in filter_form.errors.items())
        return HttpResponse(
            f"Invalid date range: {errors}",
            status=HTTP_BAD_REQUEST,
            content_type="text/plain; charset=utf-8",
        )
    dates = filter_form.cleaned_data if filter_ok else {}
    predictions = selectors.prediction_list_for_user(
        user=request.user, date_from=dates.get("date_from"), date_to=dates.get("date_to")
    )
    channel = dates.get("channel")
    if channel:
        predictions = predictions.filter(channel=channel)
    if wants_csv:
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            history_csv_lines(predictions.iterator(chunk_size=EXPORT_CHUNK_SIZE)),
            content_type=CSV_CONTENT_TYPE,
        )
        response["Content-Disposition"] = f'attachment; filename="predictions-{stamp}.csv"'
        return response
    page = Paginator(predictions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    filter_query = request.GET.copy()
    filter_query.pop("page", None)
    filter_query.pop("format", None)
    date_from, date_to = dates.get("date_from"), dates.get("date_to")
    context = {
        "filter_form": filter_form,
        "page": page,
        "filter_query": filter_query.urlencode(),
        # The list below is unfiltered when the dates are invalid: say so, not "in this range".
        "filter_invalid": not filter_ok,
        "channel_label": dict(Channel.choices).get(channel or ""),
        "range_reversed": bool(date_from and date_to and date_from > date_to),
    }
    status = 200 if filter_ok else HTTP_BAD_REQUEST
    return render(request, "predictions/history.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@batch_limit
def batch_create(request: HttpRequest) -> HttpResponse:
    """Upload a CSV; small files are answered at once, large ones become a background job."""
    status = 200
    if request.method == "POST":
        # The CSRF check has already parsed the upload (to a temporary file beyond
        # FILE_UPLOAD_MAX_MEMORY_SIZE), so its size is checked by the form, not up front.
        form = BatchUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                submitted = services.batch_job_create_once(
                    user=request.user,
                    file_name=upload.name,
                    data=upload.read(),
                    submission=form.cleaned_data["submission"],
                )
            except ServiceError as exc:
                _apply_service_error(form, exc)
                status = http_status(exc)
            else:
                if not submitted.created:
                    messages.info(request, ALREADY_UPLOADED_MESSAGE)
                return redirect("predictions:batch_detail", job_id=submitted.object.pk)
        else:
            too_large = form.has_error("file", code=BatchUploadForm.TOO_LARGE)
            status = HTTP_CONTENT_TOO_LARGE if too_large else HTTP_BAD_REQUEST
    else:
        form = BatchUploadForm()
    jobs = selectors.batch_job_list_for_user(user=request.user)
    context = {
        "form": form,
        "page": Paginator(jobs, BATCH_PAGE_SIZE).get_page(request.GET.get("page")),
        "sync_max_rows": settings.BATCH_SYNC_MAX_ROWS,
        "max_rows": settings.BATCH_MAX_ROWS,
        "max_megabytes": settings.BATCH_UPLOAD_MAX_BYTES / (1024 * 1024),
        "columns": PROFILE_FIELDS,
    }
    return render(request, "predictions/batch.html", context, status=status)


@require_GET
def batch_template(request: HttpRequest) -> HttpResponse:
    """A CSV to start from: the header in the documented order and two example rows."""
    response = HttpResponse(template_csv(), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILE_NAME}"'
    return response


@login_required
@require_GET
def batch_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.batch_job_get_for_user(user=request.user, job_id=job_id)
    if job is None:
        raise Http404("No such batch job.")
    context = {
        "job": job,
        "in_progress": job.status in RUNNING_STATUSES,
        "refresh_seconds": REFRESH_SECONDS,
        "shown_errors": job.row_errors[:SHOWN_ROW_ERRORS],
        "more_errors": max(0, job.error_count - SHOWN_ROW_ERRORS),
    }
    return render(request, "predictions/batch_detail.html", context)


@login_required
@require_GET
def batch_download(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.batch_job_get_for_user(user=request.user, job_id=job_id)
    if job is None or job.status != JobStatus.SUCCEEDED:
        raise Http404("No results to download.")
    data = selectors.batch_job_result_csv(job=job)
    if data is None:
        raise Http404("No results to download.")
    response = HttpResponse(data, content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="{result_file_name(job.file_name, job.pk)}"'
    )
    return response
