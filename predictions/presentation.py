"""What the result page shows for one prediction: shared by the predictions and feedback views.

The feedback view re-renders the result page with its form errors, so the page's context is
built here, not in either app's views (apps never import each other's views).
"""

from __future__ import annotations

from django.http import HttpRequest

from feedback.forms import FeedbackForm
from feedback.selectors import feedback_get_for_prediction
from mlmodel.core.profile import (
    COMPANY_SIZES,
    COUNTRIES,
    EMPLOYMENT_TYPES,
    EXPERIENCE_LEVELS,
    REMOTE_RATIOS,
)
from mlmodel.core.taxonomy import (
    MATCH_FAMILY_RULE,
    MATCH_NORMALISED,
    MATCH_UNKNOWN,
    job_family,
    match_title,
)
from predictions import selectors
from predictions.charts import interval_chart_html
from predictions.display import baseline_usd, drivers, drivers_sentence
from predictions.models import Prediction


def _profile_rows(inputs: dict) -> list[tuple[str, str]]:
    """The profile as the user chose it, in words."""
    remote = inputs.get("remote_ratio")
    return [
        ("Job title", str(inputs.get("job_title", ""))),
        ("Job family", job_family(str(inputs.get("job_title", "")))),
        ("Experience", EXPERIENCE_LEVELS.get(inputs.get("experience_level"), "")),
        ("Employment", EMPLOYMENT_TYPES.get(inputs.get("employment_type"), "")),
        ("Company location", COUNTRIES.get(inputs.get("company_location"), "")),
        ("Where you live", COUNTRIES.get(inputs.get("employee_residence"), "")),
        ("Remote work", REMOTE_RATIOS.get(remote, str(remote))),
        ("Company size", COMPANY_SIZES.get(inputs.get("company_size"), "")),
        ("Work year", str(inputs.get("work_year", ""))),
    ]


def title_notice(prediction: Prediction) -> dict | None:
    """What the page says about how the title was read; None when it is a title in the data.

    The stored ``title_match`` and ``title_weight`` are what the model did when it answered;
    ``treated_as`` and the evidence are read again from the title (the taxonomy is pure and
    versioned with the code), the evidence only while it still reads the title the same way.
    """
    kind = prediction.title_match
    if kind not in (MATCH_UNKNOWN, MATCH_FAMILY_RULE, MATCH_NORMALISED):
        return None
    title = str(prediction.inputs.get("job_title", ""))
    reading = match_title(title)
    weight = prediction.title_weight
    return {
        "kind": kind,
        "warn": kind != MATCH_NORMALISED,
        "title": title,
        "treated_as": reading.treated_as,
        "family": reading.family,
        "evidence": reading.evidence if reading.kind == kind else "",
        "effect_percent": (
            min(round(weight * 100), 99)
            if kind == MATCH_FAMILY_RULE and weight is not None and weight < 1.0
            else None
        ),
        # A rule would have kept less: the training rows had this title (imported, feedback).
        "learned": kind == MATCH_FAMILY_RULE and weight == 1.0 and reading.weight < 1.0,
    }


def prediction_detail_context(
    *, request: HttpRequest, prediction: Prediction, feedback_form: FeedbackForm | None = None
) -> dict:
    """Everything the result page shows; the feedback view re-renders it with its errors."""
    inputs = prediction.inputs
    family = job_family(str(inputs.get("job_title", "")))
    histogram = selectors.market_histogram(
        experience_level=str(inputs.get("experience_level", "")), family=family
    )
    driver_list = drivers(prediction.contributions, inputs)
    feedback = feedback_get_for_prediction(user=request.user, prediction_id=prediction.pk)
    return {
        "prediction": prediction,
        "job_family": family,
        "interval_percent": round(prediction.interval_level * 100),
        "profile_rows": _profile_rows(inputs),
        "drivers": driver_list,
        "drivers_sentence": drivers_sentence(driver_list),
        "baseline_usd": baseline_usd(prediction.estimate_usd, prediction.contributions),
        "chart_svg": interval_chart_html(
            estimate_usd=prediction.estimate_usd,
            interval_low_usd=prediction.interval_low_usd,
            interval_high_usd=prediction.interval_high_usd,
            interval_level=prediction.interval_level,
            histogram=histogram,
        ),
        "histogram": histogram,
        "title_notice": title_notice(prediction),
        "feedback": feedback,
        "feedback_form": feedback_form or FeedbackForm.for_feedback(feedback),
    }
