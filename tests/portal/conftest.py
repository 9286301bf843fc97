"""Fixtures for the portal's own tests (accounts, pages, health)."""

import pytest
from django.utils import timezone

ACTIVE = "active"


@pytest.fixture
def serving_model_row(db):
    """``serving_model_row(is_demo=..., metrics=...)`` stores an active ModelVersion row.

    The pages only read registry metadata, so the artifact bytes are a stand-in.
    """
    from mlmodel.models import ModelVersion

    def make(*, version: int = 1, is_demo: bool = False, metrics: dict | None = None):
        return ModelVersion.objects.create(
            version=version,
            status=ACTIVE,
            trained_at=timezone.now(),
            activated_at=timezone.now(),
            artifact=b"not-a-real-model",
            artifact_format="test-placeholder",
            artifact_sha256="0" * 64,
            artifact_size=len(b"not-a-real-model"),
            metrics=metrics or {},
            training_data={"row_count": 1234},
            is_demo=is_demo,
        )

    return make
