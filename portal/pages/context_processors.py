"""Template context for every page: whether to show the demo-model banner."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from portal.pages.selectors import serving_model_is_demo


def demo_model(request: HttpRequest) -> dict:
    """Lazy, so pages that never show the banner (errors, JSON) never query for it."""
    return {"serving_model_is_demo": SimpleLazyObject(serving_model_is_demo)}
