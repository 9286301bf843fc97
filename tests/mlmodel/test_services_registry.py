"""The model registry: register, activate, retire, roll back, export/import — all audited."""

import base64
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mlmodel.core.profile import EXAMPLE_PROFILE, SalaryProfile
from mlmodel.models import ModelAction, ModelEvent, ModelStatus, ModelVersion
from mlmodel.rollout.services import (
    model_version_activate,
    model_version_retire,
    model_version_rollback,
)
from mlmodel.services import (
    model_version_export,
    model_version_import,
    model_version_register,
    predict,
)
from portal.exceptions import InvalidInput, NotFound, ServiceError

pytestmark = pytest.mark.django_db

PROFILES = [
    EXAMPLE_PROFILE,
    SalaryProfile("Data Engineer", "MI", "FT", "DE", "DE", 100, "L", 2023),
    SalaryProfile("Machine Learning Engineer", "EN", "CT", "IN", "IN", 50, "S", 2022),
]


def _status(version: int) -> str:
    return ModelVersion.objects.get(version=version).status


def _actions(version: int) -> list[str]:
    return list(
        ModelEvent.objects.filter(model_version__version=version)
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


def test_register_stores_a_candidate_with_sha256_size_and_an_event(trained_demo_artifact, user):
    # given
    artifact, metadata = trained_demo_artifact

    # when
    first = model_version_register(artifact=artifact, metadata=metadata, actor=user)
    second = model_version_register(artifact=artifact, metadata=metadata)

    # then
    assert (first.version, second.version) == (1, 2)
    assert first.status == ModelStatus.CANDIDATE
    assert first.artifact_size == len(artifact)
    assert len(first.artifact_sha256) == 64
    assert first.is_demo is True
    assert first.library_versions["python"] and first.library_versions["xgboost"]
    event = ModelEvent.objects.get(model_version=first)
    assert (event.action, event.actor, event.details["sha256"]) == (
        ModelAction.REGISTERED,
        user,
        first.artifact_sha256,
    )


@pytest.mark.parametrize(
    "broken",
    [b"not a model", b"PK\x03\x04" + b"\x00" * 40],
    ids=["junk", "fake-zip"],
)
def test_register_refuses_an_artifact_that_does_not_load(trained_demo_artifact, broken):
    # given
    _artifact, metadata = trained_demo_artifact

    # when
    with pytest.raises(InvalidInput) as raised:
        model_version_register(artifact=broken, metadata=metadata)

    # then
    assert "does not load" in str(raised.value)
    assert ModelVersion.objects.count() == 0


def test_register_refuses_a_sha256_that_does_not_match(trained_demo_artifact):
    # given
    artifact, metadata = trained_demo_artifact
    wrong_sha = {**metadata, "artifact_sha256": "0" * 64}

    # when / then
    with pytest.raises(ServiceError, match="sha256 mismatch"):
        model_version_register(artifact=artifact, metadata=wrong_sha)
    assert ModelVersion.objects.count() == 0


def test_activate_retires_the_previous_champion_in_one_step_and_logs_both(register_version, user):
    # given
    register_version(activate=True)
    register_version()

    # when
    model_version_activate(version=2, actor=user, reason="better on the backtest")

    # then
    assert _status(1) == ModelStatus.RETIRED
    assert _status(2) == ModelStatus.ACTIVE
    assert _actions(1) == [ModelAction.REGISTERED, ModelAction.ACTIVATED, ModelAction.RETIRED]
    assert _actions(2) == [ModelAction.REGISTERED, ModelAction.ACTIVATED]
    retired = ModelEvent.objects.get(model_version__version=1, action=ModelAction.RETIRED)
    activated = ModelEvent.objects.get(model_version__version=2, action=ModelAction.ACTIVATED)
    assert retired.actor == user and retired.details["replaced_by"] == 2
    assert activated.actor == user and activated.reason == "better on the backtest"
    assert activated.before == {"status": "candidate", "champion": 1}
    assert activated.after == {"status": "active", "champion": 2}
    assert ModelVersion.objects.get(version=1).retired_at is not None


def test_activating_the_champion_again_changes_nothing(register_version):
    # given
    register_version(activate=True)

    # when
    model_version_activate(version=1)

    # then
    assert _actions(1) == [ModelAction.REGISTERED, ModelAction.ACTIVATED]


def test_retire_a_candidate(register_version, user):
    # given
    register_version(activate=True)
    register_version()

    # when
    model_version_retire(version=2, actor=user, reason="never going to ship")

    # then
    assert _status(1) == ModelStatus.ACTIVE
    assert _status(2) == ModelStatus.RETIRED
    assert ModelEvent.objects.filter(
        model_version__version=2,
        action=ModelAction.RETIRED,
        actor=user,
        reason="never going to ship",
    ).exists()


def test_the_champion_cannot_be_retired(register_version):
    # given
    register_version(activate=True)

    # when / then
    with pytest.raises(ServiceError, match="is the champion"):
        model_version_retire(version=1)
    assert _status(1) == ModelStatus.ACTIVE


def test_unknown_version_is_a_404(register_version):
    # when / then
    with pytest.raises(NotFound):
        model_version_activate(version=99)


def test_rollback_reactivates_the_previous_champion_and_logs_it(register_version, user):
    # given
    register_version(activate=True)
    register_version(activate=True)

    # when
    model_version_rollback(actor=user, reason="v2 errors")

    # then
    assert _status(1) == ModelStatus.ACTIVE
    assert _status(2) == ModelStatus.RETIRED
    event = ModelEvent.objects.get(action=ModelAction.ROLLED_BACK)
    assert (event.model_version.version, event.actor, event.reason) == (1, user, "v2 errors")
    assert event.details["rolled_back_from"] == 2


def test_rolling_back_twice_goes_further_back_not_forth(register_version):
    # given
    for _ in range(3):
        register_version(activate=True)

    # when
    model_version_rollback()
    model_version_rollback()

    # then
    assert _status(1) == ModelStatus.ACTIVE
    assert [_status(v) for v in (2, 3)] == [ModelStatus.RETIRED, ModelStatus.RETIRED]
    with pytest.raises(ServiceError, match="Nothing to roll back to"):
        model_version_rollback()


def test_rollback_skips_versions_that_never_served(register_version):
    # given
    register_version(activate=True)
    register_version()
    register_version(activate=True)
    model_version_retire(version=2)  # retired last, but it never served

    # when
    model_version_rollback()

    # then
    assert _status(1) == ModelStatus.ACTIVE


def test_export_import_round_trip_gives_identical_predictions(
    register_version, fresh_registry, user
):
    # given
    register_version(activate=True)
    payload = json.loads(json.dumps(model_version_export(version=1)))

    # when
    imported = model_version_import(payload=payload, actor=user)

    # then
    assert imported.version == 2
    assert imported.artifact_sha256 == payload["artifact_sha256"]
    assert "Imported from v1" in imported.notes
    event = ModelEvent.objects.get(model_version=imported)
    assert (event.action, event.details["source_version"], event.actor) == (
        ModelAction.IMPORTED,
        1,
        user,
    )
    for profile in PROFILES:
        original, copy = predict(profile, version=1), predict(profile, version=2)
        assert copy.model_version_number == 2
        assert (copy.estimate_usd, copy.interval_low_usd, copy.interval_high_usd) == (
            original.estimate_usd,
            original.interval_low_usd,
            original.interval_high_usd,
        )
        assert copy.contributions == original.contributions


def test_import_refuses_a_corrupted_export(register_version):
    # given
    register_version()
    payload = model_version_export(version=1)
    artifact = bytearray(base64.b64decode(payload["artifact_base64"]))
    artifact[len(artifact) // 2] ^= 0xFF
    corrupted = {**payload, "artifact_base64": base64.b64encode(bytes(artifact)).decode()}

    # when / then
    with pytest.raises(ServiceError, match="does not match its sha256"):
        model_version_import(payload=corrupted)
    with pytest.raises(ServiceError, match="not valid base64"):
        model_version_import(payload={**payload, "artifact_base64": "%%%"})
    with pytest.raises(ServiceError, match="Not a model export"):
        model_version_import(payload={"format": "something else"})
    assert ModelVersion.objects.count() == 1


def test_export_and_import_commands(register_version, tmp_path):
    # given
    register_version(activate=True)
    path = tmp_path / "model.json"
    out = StringIO()

    # when
    call_command("export_model", "--version", "1", "--output", str(path), stdout=out)
    call_command("import_model", str(path), "--activate", stdout=out)

    # then
    assert "Exported v1" in out.getvalue() and "Imported v1 as v2 (active)" in out.getvalue()
    assert _status(2) == ModelStatus.ACTIVE
    assert _status(1) == ModelStatus.RETIRED


def test_import_command_reports_a_bad_file(tmp_path):
    # given
    path = tmp_path / "model.json"
    path.write_text("{not json", encoding="utf-8")

    # when / then
    with pytest.raises(CommandError, match="not a JSON model export"):
        call_command("import_model", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="does not exist"):
        call_command(
            "export_model",
            "--version",
            "7",
            "--output",
            str(tmp_path / "x.json"),
            stdout=StringIO(),
        )


def test_import_checks_the_metadata_types_and_lengths(register_version):
    # given
    register_version()
    payload = model_version_export(version=1)
    bad_metadata = {**payload["metadata"], "is_demo": "yes", "git_revision": "x" * 65}

    # when
    with pytest.raises(ServiceError) as raised:
        model_version_import(payload={**payload, "metadata": bad_metadata})

    # then
    assert set(raised.value.errors) == {"is_demo", "git_revision"}
    assert ModelVersion.objects.count() == 1
