"""Model registry routes under /api/v1/."""

from django.urls import path

from mlmodel.apis import ActiveModelVersionsApi

urlpatterns = [
    path("models/active/", ActiveModelVersionsApi.as_view(), name="api-models-active"),
]
