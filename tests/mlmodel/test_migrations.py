"""Migrating traffic shares to experiments: the largest share becomes the champion and the
others a running experiment with the same split."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("mlmodel", "0003_training_runs"), ("predictions", "0004_batchjob_attempts")]
AFTER = [("mlmodel", "0004_experiments")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_traffic_split_becomes_a_champion_and_a_running_experiment():
    # given the schema before experiments, with v1 at 70 % and v2 at 30 %
    old_apps = _migrate(BEFORE)
    OldVersion = old_apps.get_model("mlmodel", "ModelVersion")
    for number, share in ((1, 70), (2, 30), (3, 0)):
        OldVersion.objects.create(
            version=number,
            status="active" if share else "candidate",
            traffic_share=share,
            trained_at=timezone.now(),
            artifact=b"x",
            artifact_format="test",
            artifact_sha256="0" * 64,
            artifact_size=1,
        )

    try:
        # when
        new_apps = _migrate(AFTER)

        # then
        Version = new_apps.get_model("mlmodel", "ModelVersion")
        Experiment = new_apps.get_model("mlmodel", "Experiment")
        assert list(Version.objects.filter(status="active").values_list("version", flat=True)) == [
            1
        ]
        experiment = Experiment.objects.get()
        assert experiment.status == "running" and len(experiment.slot_map) == 10_000
        arms = {
            (arm.model_version.version, arm.role, arm.weight)
            for arm in new_apps.get_model("mlmodel", "ExperimentArm").objects.all()
        }
        assert arms == {(1, "champion", 70), (2, "challenger", 30)}
        counts = {arm_id: experiment.slot_map.count(arm_id) for arm_id in set(experiment.slot_map)}
        assert sorted(counts.values()) == [3_000, 7_000]
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
