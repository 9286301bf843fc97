"""Rate limits shared by the HTML form and the API (django-ratelimit).

One group per kind of work, so a client has one budget whether it uses the page or the API.
Rates are read from settings on every request: they can change per environment and per test.

Predictions keep answering through a Redis outage: while the shared cache is unreachable they
are limited at the same rate by a per-process fallback (``portal/ratelimit_fallback.py``).
Batch uploads fail closed instead: a batch needs the broker (the same Redis) anyway, so during
an outage it answers 503 at once rather than half-working.
"""

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.decorators import ratelimit

from portal.ratelimit_fallback import ratelimit_with_fallback

RATE_KEY = "user_or_ip"
PREDICT_GROUP = "predictions.predict"
BATCH_GROUP = "predictions.batch"


def predict_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_PREDICT


def batch_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_BATCH


predict_limit = ratelimit_with_fallback(
    group=PREDICT_GROUP, key=RATE_KEY, rate=predict_rate, method="POST"
)
batch_limit = ratelimit(group=BATCH_GROUP, key=RATE_KEY, rate=batch_rate, method="POST")
