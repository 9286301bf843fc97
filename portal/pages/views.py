"""Public site pages: the home page and "about the model"."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.pages.selectors import serving_models


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/home.html")


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/about.html", {"serving_models": serving_models()})
