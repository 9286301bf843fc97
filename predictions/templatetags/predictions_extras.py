"""Money filters for templates: ``{{ amount|usd }}``, ``|usd_short``, ``|signed_usd_short``."""

from django import template

from predictions import display

register = template.Library()


@register.filter
def usd(amount: float | int | None) -> str:
    return display.usd(amount)


@register.filter
def usd_short(amount: float | int | None) -> str:
    return display.usd_short(amount)


@register.filter
def signed_usd_short(amount: float | int) -> str:
    return display.signed_usd_short(amount)
