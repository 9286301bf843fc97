"""HTML pages for feedback (namespace ``feedback``)."""

from django.urls import path

from feedback import views

app_name = "feedback"

urlpatterns = [
    path("", views.feedback_list, name="list"),
    path("predictions/<int:prediction_id>/", views.feedback_submit, name="submit"),
]
