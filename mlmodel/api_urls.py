"""Model registry routes under /api/v1/."""

from django.urls import path

from mlmodel.apis import ActiveModelVersionsApi
from mlmodel.rollout.apis import (
    ExperimentAssignmentApi,
    ExperimentDetailApi,
    ExperimentListCreateApi,
    ExperimentPromoteApi,
    ExperimentRerandomizeApi,
    ExperimentStartApi,
    ExperimentStopApi,
    ModelEventListApi,
    ModelRollbackApi,
    ModelVersionListApi,
)
from mlmodel.training_apis import TrainingRunCreateApi, TrainingRunDetailApi

urlpatterns = [
    path("models/", ModelVersionListApi.as_view(), name="api-models"),
    path("models/active/", ActiveModelVersionsApi.as_view(), name="api-models-active"),
    path("models/events/", ModelEventListApi.as_view(), name="api-model-events"),
    path("models/rollback/", ModelRollbackApi.as_view(), name="api-models-rollback"),
    path("experiments/", ExperimentListCreateApi.as_view(), name="api-experiments"),
    path(
        "experiments/<int:experiment_id>/",
        ExperimentDetailApi.as_view(),
        name="api-experiment-detail",
    ),
    path(
        "experiments/<int:experiment_id>/start/",
        ExperimentStartApi.as_view(),
        name="api-experiment-start",
    ),
    path(
        "experiments/<int:experiment_id>/stop/",
        ExperimentStopApi.as_view(),
        name="api-experiment-stop",
    ),
    path(
        "experiments/<int:experiment_id>/promote/",
        ExperimentPromoteApi.as_view(),
        name="api-experiment-promote",
    ),
    path(
        "experiments/<int:experiment_id>/rerandomize/",
        ExperimentRerandomizeApi.as_view(),
        name="api-experiment-rerandomize",
    ),
    path(
        "experiments/<int:experiment_id>/assignment/",
        ExperimentAssignmentApi.as_view(),
        name="api-experiment-assignment",
    ),
    path("training-runs/", TrainingRunCreateApi.as_view(), name="api-training-runs"),
    path(
        "training-runs/<int:run_id>/",
        TrainingRunDetailApi.as_view(),
        name="api-training-run-detail",
    ),
]
