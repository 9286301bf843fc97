"""Registry constraints and the admin: read-only views, actions that go through the services."""

import pytest
from django.db import IntegrityError
from django.urls import reverse

from mlmodel.models import ModelAction, ModelEvent, ModelStatus, ModelVersion, SalaryRecord
from mlmodel.training_services import salary_demo_data_create

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:mlmodel_modelversion_changelist"


@pytest.fixture
def admin_client_user(client, django_user_model, password):
    admin_user = django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password=password
    )
    client.force_login(admin_user)
    return client, admin_user


def test_a_second_champion_is_rejected_by_the_database(register_version):
    # given
    register_version(activate=True)
    candidate = register_version()

    # when / then
    with pytest.raises(IntegrityError):
        ModelVersion.objects.filter(pk=candidate.pk).update(status="active")


def test_one_row_per_batch_line(register_version):
    # given
    salary_demo_data_create(rows=2, seed=1)
    record = SalaryRecord.objects.first()

    # when / then
    with pytest.raises(IntegrityError):
        SalaryRecord.objects.create(
            **{
                field.name: getattr(record, field.name)
                for field in SalaryRecord._meta.concrete_fields
                if field.name not in ("id", "created_at")
            }
        )


def test_model_version_list_and_page_show_metrics_and_sha_but_never_the_bytes(
    admin_client_user, register_version
):
    # given
    client, _admin = admin_client_user
    model_version = register_version(activate=True)

    # when
    listing = client.get(reverse(CHANGELIST))
    page = client.get(reverse("admin:mlmodel_modelversion_change", args=[model_version.pk]))

    # then
    assert listing.status_code == 200 and page.status_code == 200
    text = page.content.decode()
    assert model_version.artifact_sha256 in text
    assert f"{model_version.artifact_size:,} bytes" in text
    assert "PK\x03\x04" not in text
    assert "New experiment" in listing.content.decode()


def test_admin_actions_ask_for_a_reason_call_the_services_and_log_the_admin(
    admin_client_user, register_version
):
    # given
    client, admin_user = admin_client_user
    first = register_version(activate=True)
    second = register_version()
    champion_url = reverse("admin:mlmodel_modelversion_champion", args=[second.pk])

    # when
    confirmation = client.get(champion_url)
    without_reason = client.post(champion_url, {"reason": ""})
    client.post(champion_url, {"reason": "v2 wins the backtest"})
    client.post(reverse("admin:mlmodel_modelversion_rollback"), {"reason": "v2 misbehaves"})
    refused = client.post(
        reverse("admin:mlmodel_modelversion_retire", args=[first.pk]), {"reason": "tidy up"}
    )

    # then
    assert "Make v2 the champion" in confirmation.content.decode()
    assert "This field is required" in without_reason.content.decode()
    assert ModelVersion.objects.get(pk=first.pk).status == ModelStatus.ACTIVE
    assert ModelVersion.objects.get(pk=second.pk).status == ModelStatus.RETIRED
    actions = list(
        ModelEvent.objects.filter(actor=admin_user)
        .order_by("created_at", "id")
        .values_list("model_version__version", "action", "reason")
    )
    assert actions == [
        (1, ModelAction.RETIRED, "v2 wins the backtest"),
        (2, ModelAction.ACTIVATED, "v2 wins the backtest"),
        (2, ModelAction.RETIRED, "v2 misbehaves"),
        (1, ModelAction.ROLLED_BACK, "v2 misbehaves"),
    ]
    assert "is the champion" in refused.content.decode()


def test_training_data_lists_are_read_only_with_filters(admin_client_user):
    # given
    client, _admin = admin_client_user
    salary_demo_data_create(rows=5, seed=1)
    record = SalaryRecord.objects.first()

    # when
    listing = client.get(
        reverse("admin:mlmodel_salaryrecord_changelist"), {"source": "demo", "work_year": "2024"}
    )
    batches = client.get(reverse("admin:mlmodel_importbatch_changelist"))
    edit = client.post(
        reverse("admin:mlmodel_salaryrecord_change", args=[record.pk]), {"salary_in_usd": 1}
    )

    # then
    assert listing.status_code == 200 and batches.status_code == 200
    assert edit.status_code == 403
    assert SalaryRecord.objects.get(pk=record.pk).salary_in_usd == record.salary_in_usd
