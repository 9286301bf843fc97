"""Public site pages: the home page and "about the model"."""

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from portal.pages.selectors import serving_model_cards


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/home.html")


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/about.html", {"cards": serving_model_cards()})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for on pages without a ``<link rel="icon">``."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
