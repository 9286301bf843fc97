"""How the admin's lists show values: one short line each, so a list fits 1,280 px."""

from collections.abc import Callable

from django.contrib import admin
from django.utils import formats, timezone


def date_text(moment) -> str:
    """``2 Dec 2026 00:47`` in the site's time zone (``—`` when unset)."""
    if moment is None:
        return "—"
    return formats.date_format(timezone.localtime(moment), "j M Y H:i")


def date_column(field: str, description: str) -> Callable[[admin.ModelAdmin, object], str]:
    """A list column showing ``field`` as :func:`date_text`, sortable by it:
    ``created = date_column("created_at", "Created")`` in a ModelAdmin."""

    @admin.display(description=description, ordering=field)
    def column(model_admin: admin.ModelAdmin, obj) -> str:
        return date_text(getattr(obj, field))

    return column
