"""HTML pages for feedback: the box under a prediction posts here; the list of one's own."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from feedback.forms import FeedbackForm
from feedback.ratelimits import feedback_limit
from feedback.selectors import feedback_list_for_user
from feedback.services import feedback_upsert
from portal.errors import http_status
from portal.exceptions import NotFound, ServiceError
from predictions.presentation import prediction_detail_context
from predictions.selectors import prediction_get_for_user

FEEDBACK_PAGE_SIZE = 20
HTTP_BAD_REQUEST = 400
FEEDBACK_ANCHOR = "#feedback"


@login_required
@require_POST
@feedback_limit
def feedback_submit(request: HttpRequest, prediction_id: int) -> HttpResponse:
    """Save the feedback box; on errors re-show the result page with them next to the fields."""
    prediction = prediction_get_for_user(user=request.user, prediction_id=prediction_id)
    if prediction is None:
        raise Http404("No such prediction.")
    form = FeedbackForm(request.POST)
    status = HTTP_BAD_REQUEST
    if form.is_valid():
        try:
            _feedback, created = feedback_upsert(
                user=request.user,
                prediction_id=prediction.pk,
                actual_salary_usd=form.cleaned_data["actual_salary_usd"],
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except NotFound as exc:
            raise Http404("No such prediction.") from exc
        except ServiceError as exc:
            for name, errors in exc.errors.items():
                form.add_error(name if name in form.fields else None, errors)
            status = http_status(exc)
        else:
            messages.success(
                request, "Thank you for your feedback." if created else "Your feedback was updated."
            )
            url = reverse("predictions:detail", kwargs={"prediction_id": prediction.pk})
            return redirect(url + FEEDBACK_ANCHOR)
    context = prediction_detail_context(request=request, prediction=prediction, feedback_form=form)
    return render(request, "predictions/detail.html", context, status=status)


@login_required
@require_GET
def feedback_list(request: HttpRequest) -> HttpResponse:
    feedback = feedback_list_for_user(user=request.user)
    page = Paginator(feedback, FEEDBACK_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "feedback/list.html", {"page": page})
