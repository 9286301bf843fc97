"""The rollout dashboard over a million stored predictions (issue 8's benchmark).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mlpaygrade_dashboard_bench \
        .venv/bin/python tests/load/dashboard_benchmark.py [--predictions 1000000] [--days 30]

It (re)creates that database, registers three versions of a small demo model, runs a 50/50
experiment with a shadow arm, and writes ``--predictions`` predictions spread over ``--days``
days with SQL (``generate_series``), each with its shadow answer, feedback on 5 % (a real salary
on 3 %) and one recorded assignment per user. Then it times, with the real code: the full
rollup rebuild (every day, once), the routine rebuild the beat task runs (the last
``ROLLUP_DAYS`` days), and ``experiment_dashboard`` — what the admin page and
``GET /api/v1/experiments/{id}/`` compute — as the median of five calls. One JSON line out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

USERS = 50_000
FEEDBACK_SHARE = 0.05
ACTUAL_SHARE = 0.03
DASHBOARD_CALLS = 5
MILLISECONDS = 1000


def _recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def _seconds(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the rollup and dashboard on the data loaded last time",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database this script may drop and recreate")
    if not args.reuse:
        _recreate_database(url)

    import django

    django.setup()
    if args.reuse:
        from mlmodel.models import Experiment

        _time(Experiment.objects.get(status="running"), args, load_seconds=None)
        return
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from django.contrib.auth import get_user_model

    from mlmodel.core.artifacts import artifact_bytes
    from mlmodel.core.train.demo_data import make_demo_dataframe
    from mlmodel.core.train.production import train_production_model
    from mlmodel.models import ArmRole
    from mlmodel.rollout.services import experiment_create, experiment_start
    from mlmodel.services import model_version_register
    from mlmodel.training_services import salary_demo_data_create, trained_model_metadata

    frame = make_demo_dataframe(n_rows=2_000, seed=1)
    trained = train_production_model(
        frame,
        seed=1,
        params={"point": {"n_estimators": 30}, "quantile": {"n_estimators": 20}},
        evaluate=False,
    )
    artifact, metadata = artifact_bytes(trained), trained_model_metadata(trained, is_demo=True)
    for index in range(3):
        model_version_register(artifact=artifact, metadata=metadata, activate=index == 0)
    salary_demo_data_create(rows=5_000, seed=2)
    experiment = experiment_create(
        name="benchmark",
        arms=[
            {"model_version": 2, "weight": 50},
            {"model_version": 3, "weight": 0, "role": "shadow"},
        ],
    )
    experiment = experiment_start(experiment_id=experiment.pk)
    arms = {arm.role: arm for arm in experiment.arms.all()}
    get_user_model().objects.bulk_create(
        get_user_model()(username=f"bench{n}", password="!") for n in range(USERS)
    )
    first_user = get_user_model().objects.order_by("id").values_list("id", flat=True).first()

    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Loaded as already recorded (the assignments are inserted below): the exposure queue's
        # trigger stays off while the rows go in.
        cursor.execute(
            "ALTER TABLE predictions_prediction DISABLE TRIGGER prediction_exposure_enqueue"
        )
        cursor.execute(
            """
            INSERT INTO predictions_prediction (user_id, channel, inputs, estimate_usd,
                interval_low_usd, interval_high_usd, interval_level, contributions,
                model_version_id, experiment_id, arm_id, experiment_phase, experiment_slot,
                latency_ms, request_id, title_match, created_at)
            SELECT %(first_user)s + (n %% %(users)s),
                   CASE WHEN n %% 3 = 0 THEN 'web' ELSE 'api' END,
                   jsonb_build_object(
                       'job_title', 'Data Scientist',
                       'experience_level', (ARRAY['EN','MI','SE','EX'])[1 + n %% 4],
                       'employment_type', 'FT', 'company_location', 'US',
                       'employee_residence', 'US', 'remote_ratio', (ARRAY[0,50,100])[1 + n %% 3],
                       'company_size', (ARRAY['S','M','L'])[1 + n %% 3], 'work_year', 2025),
                   120000 + n %% 50000, 80000, 200000, 0.9, '[]'::jsonb,
                   CASE WHEN (n %% %(users)s) %% 2 = 0 THEN %(champion_version)s
                        ELSE %(challenger_version)s END,
                   %(experiment)s,
                   CASE WHEN (n %% %(users)s) %% 2 = 0 THEN %(champion_arm)s
                        ELSE %(challenger_arm)s END,
                   1, (n %% %(users)s) %% 10000,
                   3 + (n %% 17) * 0.4, '', 'exact',
                   now() - ((n %% %(days)s) || ' days')::interval - ((n %% 86000) || ' s')::interval
            FROM generate_series(1, %(rows)s) AS n
            """,
            {
                "first_user": first_user,
                "users": USERS,
                "rows": args.predictions,
                "days": args.days,
                "experiment": experiment.pk,
                "champion_arm": arms[ArmRole.CHAMPION].pk,
                "challenger_arm": arms[ArmRole.CHALLENGER].pk,
                "champion_version": arms[ArmRole.CHAMPION].model_version_id,
                "challenger_version": arms[ArmRole.CHALLENGER].model_version_id,
            },
        )
        cursor.execute(
            """
            INSERT INTO predictions_shadowprediction (prediction_id, arm_id, model_version_id,
                estimate_usd, interval_low_usd, interval_high_usd, latency_ms, created_at)
            SELECT id, %(arm)s, %(version)s, estimate_usd + 1000, interval_low_usd,
                   interval_high_usd, 2.5, created_at
            FROM predictions_prediction
            """,
            {"arm": arms[ArmRole.SHADOW].pk, "version": arms[ArmRole.SHADOW].model_version_id},
        )
        cursor.execute(
            "ALTER TABLE predictions_prediction ENABLE TRIGGER prediction_exposure_enqueue"
        )
        cursor.execute(
            """
            INSERT INTO feedback_feedback (prediction_id, user_id, actual_salary_usd, rating,
                comment, created_at, updated_at)
            SELECT id, user_id,
                   CASE WHEN id %% 100 < %(actual)s THEN estimate_usd + (id %% 40000) - 20000 END,
                   (ARRAY['too_low','about_right','too_high'])[1 + id %% 3], '',
                   created_at, created_at
            FROM predictions_prediction WHERE id %% 100 < %(feedback)s
            """,
            {"actual": round(ACTUAL_SHARE * 100), "feedback": round(FEEDBACK_SHARE * 100)},
        )
        cursor.execute(
            """
            INSERT INTO mlmodel_assignment (experiment_id, phase, unit, slot, arm_id,
                model_version_id, exposures, first_exposed_at, last_exposed_at)
            SELECT experiment_id, 1, 'user:' || user_id, min(experiment_slot), min(arm_id),
                   min(model_version_id), count(*), min(created_at), max(created_at)
            FROM predictions_prediction GROUP BY experiment_id, user_id
            """
        )
        cursor.execute("ANALYZE")
    load_seconds = time.perf_counter() - started

    _time(experiment, args, load_seconds=load_seconds)


def _time(experiment, args, *, load_seconds: float | None) -> None:
    from mlmodel.rollout.metrics import arm_daily_stats_refresh, experiment_dashboard

    full_seconds, _ = _seconds(lambda: arm_daily_stats_refresh(every_day=True))
    routine_seconds, _ = _seconds(arm_daily_stats_refresh)
    timings = []
    dashboard = None
    for _ in range(DASHBOARD_CALLS):
        seconds, dashboard = _seconds(lambda: experiment_dashboard(experiment=experiment))
        timings.append(seconds)
    print(
        json.dumps(
            {
                "predictions": args.predictions,
                "days": args.days,
                "users": USERS,
                "data_load_seconds": round(load_seconds, 1) if load_seconds else None,
                "rollup_full_rebuild_seconds": round(full_seconds, 2),
                "rollup_routine_seconds": round(routine_seconds, 2),
                "dashboard_median_ms": round(statistics.median(timings) * MILLISECONDS, 1),
                "dashboard_max_ms": round(max(timings) * MILLISECONDS, 1),
                "arms": [
                    {k: arm[k] for k in ("model_version", "role", "predictions", "units", "mae")}
                    for arm in dashboard["arms"]
                ],
                "srm_p_value": dashboard["srm"]["p_value"],
            }
        )
    )


if __name__ == "__main__":
    main()
