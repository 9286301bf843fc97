"""Feedback routes under /api/v1/ (plain list; included by portal/api/urls.py)."""

from django.urls import path

from feedback import apis

urlpatterns = [
    path(
        "predictions/<int:prediction_id>/feedback/",
        apis.PredictionFeedbackApi.as_view(),
        name="api-prediction-feedback",
    ),
    path("feedback/", apis.FeedbackListApi.as_view(), name="api-feedback"),
]
