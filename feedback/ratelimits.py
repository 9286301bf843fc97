"""Rate limit for feedback, shared by the HTML form and the API (one budget per client)."""

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.decorators import ratelimit

from predictions.ratelimits import RATE_KEY

FEEDBACK_GROUP = "feedback.submit"


def feedback_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_FEEDBACK


feedback_limit = ratelimit(group=FEEDBACK_GROUP, key=RATE_KEY, rate=feedback_rate, method="POST")
