"""HTML pages for predictions (namespace ``predictions``)."""

from django.urls import path

from predictions import views

app_name = "predictions"

urlpatterns = [
    path("", views.prediction_history, name="history"),
    path("new/", views.prediction_create, name="create"),
    path("<int:prediction_id>/", views.prediction_detail, name="detail"),
    path("batch/", views.batch_create, name="batch"),
    path("batch/template.csv", views.batch_template, name="batch_template"),
    path("batch/<int:job_id>/", views.batch_detail, name="batch_detail"),
    path("batch/<int:job_id>/result.csv", views.batch_download, name="batch_download"),
]
