"""Reads for the site pages: which model serves, whether it is a demo, and its model card.

The model registry's Django side (``mlmodel.selectors``) is optional here: until it exists, or
while its table is empty or unreachable, the pages say "no model yet" instead of failing.
"""

import logging

from django.core.cache import cache

from mlmodel.model_card import ModelCard, model_card

logger = logging.getLogger(__name__)

DEMO_FLAG_CACHE_KEY = "pages:serving-model-is-demo"
DEMO_FLAG_CACHE_SECONDS = 30


def _serving_versions() -> list:
    """The serving ModelVersion rows, or [] when the registry is absent or not migrated."""
    try:
        from mlmodel.selectors import model_versions_serving
    except ImportError:
        return []
    return list(model_versions_serving())


def serving_model_cards() -> list[ModelCard]:
    """The cards of the serving versions (the about page); [] means no model serves yet."""
    try:
        versions = _serving_versions()
    except Exception:  # the page explains "no model" rather than failing
        logger.exception("could not read the serving model versions")
        return []
    return [model_card(version) for version in versions]


def serving_model_is_demo() -> bool:
    """True when any serving version was trained on synthetic data (cached briefly)."""
    try:
        cached = cache.get(DEMO_FLAG_CACHE_KEY)
    except Exception:  # a cache outage must not take pages down
        cached = None
    if cached is not None:
        return bool(cached)
    try:
        is_demo = any(version.is_demo for version in _serving_versions())
    except Exception:  # no banner is better than no page
        logger.warning("could not tell whether the serving model is a demo", exc_info=True)
        return False
    try:
        cache.set(DEMO_FLAG_CACHE_KEY, is_demo, timeout=DEMO_FLAG_CACHE_SECONDS)
    except Exception:  # a cache outage must not take pages down
        logger.warning("could not cache the demo-model flag", exc_info=True)
    return is_demo
