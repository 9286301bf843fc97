"""Fixtures for the site pages' tests."""

import pytest
from django.utils import timezone

PLACEHOLDER_ARTIFACT = b"not-a-real-model"


@pytest.fixture
def model_version_row(db):
    """``model_version_row(version=…, metrics=…, training_data=…)``: an active version row.

    The pages read registry metadata only, so the artifact bytes are a stand-in.
    """
    from mlmodel.models import ModelVersion

    def make(*, version=1, metrics=None, training_data=None, is_demo=False, status="active"):
        return ModelVersion.objects.create(
            version=version,
            status=status,
            trained_at=timezone.now(),
            activated_at=timezone.now() if status == "active" else None,
            artifact=PLACEHOLDER_ARTIFACT,
            artifact_format="test-placeholder",
            artifact_sha256="0" * 64,
            artifact_size=len(PLACEHOLDER_ARTIFACT),
            metrics=metrics or {},
            training_data=training_data or {},
            is_demo=is_demo,
        )

    return make
