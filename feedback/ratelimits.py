"""Rate limit for feedback, shared by the HTML form and the API (one budget per client).

Like predictions, feedback keeps working through a Redis outage: while the shared cache is
unreachable it is limited at the same rate by the per-process fallback
(``portal/ratelimit_fallback.py``). Feedback is written to the database only, so there is no
reason to refuse it while the cache is down, and it is still never unlimited.
"""

from django.conf import settings
from django.http import HttpRequest

from portal.ratelimit_fallback import ratelimit_with_fallback
from predictions.ratelimits import RATE_KEY

FEEDBACK_GROUP = "feedback.submit"


def feedback_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_FEEDBACK


feedback_limit = ratelimit_with_fallback(
    group=FEEDBACK_GROUP, key=RATE_KEY, rate=feedback_rate, method="POST"
)
