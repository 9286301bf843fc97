"""How the admin's lists show values: one short line each, so a list fits 1,280 px."""

from django.utils import formats, timezone


def date_text(moment) -> str:
    """``2 Dec 2026 00:47`` in the site's time zone (``—`` when unset)."""
    if moment is None:
        return "—"
    return formats.date_format(timezone.localtime(moment), "j M Y H:i")
