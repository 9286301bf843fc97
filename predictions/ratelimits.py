"""Rate limits shared by the HTML form and the API (django-ratelimit).

One group per kind of work, so a client has one budget whether it uses the page or the API.
Rates are read from settings on every request: they can change per environment and per test.
"""

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.decorators import ratelimit

RATE_KEY = "user_or_ip"
PREDICT_GROUP = "predictions.predict"
BATCH_GROUP = "predictions.batch"


def predict_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_PREDICT


def batch_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_BATCH


predict_limit = ratelimit(group=PREDICT_GROUP, key=RATE_KEY, rate=predict_rate, method="POST")
batch_limit = ratelimit(group=BATCH_GROUP, key=RATE_KEY, rate=batch_rate, method="POST")
