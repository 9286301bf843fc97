"""Prediction routes under /api/v1/ (plain list; included by portal/api/urls.py)."""

from django.urls import path

from predictions import apis

urlpatterns = [
    path("predictions/", apis.PredictionListCreateApi.as_view(), name="api-predictions"),
    path(
        "predictions/<int:prediction_id>/",
        apis.PredictionDetailApi.as_view(),
        name="api-prediction-detail",
    ),
    path("predictions/batch/", apis.BatchCreateApi.as_view(), name="api-batch-jobs"),
    path(
        "predictions/batch/<int:job_id>/",
        apis.BatchJobDetailApi.as_view(),
        name="api-batch-job-detail",
    ),
    path(
        "predictions/batch/<int:job_id>/result/",
        apis.BatchJobResultApi.as_view(),
        name="api-batch-job-result",
    ),
]
