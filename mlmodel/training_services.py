"""Services that run the training stack: train and register a version, bootstrap a model.

Only the worker and management commands import this module (an import-linter contract keeps
web processes free of scikit-learn, SciPy and pandas); registering, activating and serving
live in ``mlmodel.services``.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mlmodel import selectors, training_selectors
from mlmodel.core.artifacts import (
    ARTIFACT_FORMAT,
    ARTIFACT_FORMAT_VERSION,
    ArtifactIntegrityError,
    artifact_bytes,
    load_predictor,
    sha256_hex,
)
from mlmodel.core.bundle import ModelBundle
from mlmodel.core.predictor import Predictor
from mlmodel.core.profile import DATASET_COLUMNS, PROFILE_FIELDS, SalaryProfile
from mlmodel.core.train.data import deduplicate, prepare_frame
from mlmodel.core.train.demo_data import make_demo_dataframe
from mlmodel.core.train.fitting import CROSSFIT_FOLDS, MIN_ROWS_PER_FOLD
from mlmodel.core.train.production import train_production_model
from mlmodel.core.train.protocols import regression_metrics
from mlmodel.importing import (
    ImportResult,
    ProgressCallback,
    demo_data_sha256,
    salary_import_csv,
    salary_rows_create,
)
from mlmodel.models import ModelVersion, SalarySource, TrainingRun
from mlmodel.rollout import services as rollout_services
from mlmodel.services import git_revision, model_version_register
from mlmodel.training_runs import (
    STAGE_COMPARING,
    STAGE_EVALUATING,
    STAGE_LOADING,
    STAGE_SAVING,
    STAGE_TRAINING,
    training_lock_acquire,
    training_lock_kept,
    training_lock_release,
)
from portal.exceptions import InvalidInput, ServiceError
from portal.jobs.models import JobStatus
from portal.jobs.services import job_fail, job_heartbeat, job_progress, job_start, job_succeed

logger = logging.getLogger(__name__)

DEFAULT_TRAINING_SEED = 42
# train_production_model needs 5 folds x 20 distinct rows; say so before training.
MIN_TRAINING_ROWS = 100
DEMO_MODEL_ROWS = 5_000
DEMO_MODEL_SEED = 42
DEMO_FILE_NAME_TEMPLATE = "demo data ({rows} rows, seed {seed})"


def salary_demo_data_create(
    *, rows: int, seed: int, progress: ProgressCallback | None = None
) -> ImportResult:
    """Insert synthetic demo rows (source=demo) once per ``(rows, seed)``."""
    if rows <= 0:
        raise InvalidInput({"rows": ["The number of demo rows must be positive."]})
    frame = make_demo_dataframe(n_rows=rows, seed=seed)
    return salary_rows_create(
        rows=frame[list(DATASET_COLUMNS)].to_dict(orient="records"),
        total=len(frame),
        file_name=DEMO_FILE_NAME_TEMPLATE.format(rows=rows, seed=seed),
        file_sha256=demo_data_sha256(rows=rows, seed=seed),
        source=SalarySource.DEMO,
        progress=progress,
    )


def salary_training_frame(*, include_sources: Iterable[str] | None = None) -> pd.DataFrame:
    """Approved salary rows (:func:`selectors.salary_training_rows`) as a DataFrame."""
    columns, rows = selectors.salary_training_rows(include_sources=include_sources)
    return pd.DataFrame.from_records(rows, columns=list(columns))


def trained_model_metadata(
    trained: ModelBundle,
    *,
    is_demo: bool,
    notes: str = "",
    training_data: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The ModelVersion fields for a freshly trained model (pure: no database)."""
    evaluation = dict(trained.evaluation or {})
    metrics: dict[str, object] = {
        **evaluation,
        "interval_level": trained.interval_level,
        "calibration": trained.calibration,
        "training_seconds": trained.training_seconds,
    }
    metrics["summary"] = selectors.metrics_summary(metrics)
    return {
        "artifact_format": f"{ARTIFACT_FORMAT}/{ARTIFACT_FORMAT_VERSION}",
        "trained_at": timezone.now().isoformat(),
        "metrics": metrics,
        "training_data": {**trained.fingerprint, **dict(training_data or {})},
        "hyperparameters": trained.hyperparameters,
        "library_versions": {**trained.library_versions, "python": platform.python_version()},
        "git_revision": git_revision(),
        "is_demo": is_demo,
        "notes": notes,
    }


def model_version_train(
    *,
    activate: bool = False,
    seed: int = DEFAULT_TRAINING_SEED,
    actor=None,
    notes: str = "",
    include_sources: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, object]] | None = None,
    evaluate: bool = True,
) -> ModelVersion:
    """Train on the approved rows in the database and register the result as a new version.

    Training runs outside any transaction (it takes a while); only the insert is atomic.
    """
    frame = salary_training_frame(include_sources=include_sources)
    if len(frame) < MIN_TRAINING_ROWS:
        raise InvalidInput(
            f"Too few training rows: {len(frame)} approved row(s), at least "
            f"{MIN_TRAINING_ROWS} needed. Import data first (import_salaries or make_demo_data)."
        )
    sources = frame["source"].value_counts().to_dict()
    is_demo = set(sources) == {SalarySource.DEMO}
    try:
        trained = train_production_model(
            frame.drop(columns=["source"]), seed=seed, params=params, evaluate=evaluate
        )
    except ValueError as exc:
        raise InvalidInput(f"Cannot train on this data: {exc}") from exc
    metadata = trained_model_metadata(
        trained,
        is_demo=is_demo,
        notes=notes,
        training_data={
            "rows_raw": len(frame),
            "sources": {str(name): int(count) for name, count in sorted(sources.items())},
        },
    )
    return model_version_register(
        artifact=artifact_bytes(trained), metadata=metadata, activate=activate, actor=actor
    )


# --------------------------------------------------------------------------------------------
# Bootstrapping (make run)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EnsureActiveResult:
    already_active: tuple[ModelVersion, ...] = ()
    trained: ModelVersion | None = None
    data: ImportResult | None = None
    used_demo_data: bool = False


def model_version_ensure_active(
    *,
    csv_path: str | Path | None,
    demo_rows: int = DEMO_MODEL_ROWS,
    demo_seed: int = DEMO_MODEL_SEED,
    seed: int = DEFAULT_TRAINING_SEED,
    actor=None,
) -> EnsureActiveResult:
    """Make sure a model serves: keep the active one, else train on the real CSV (imported
    once), else on synthetic demo data — a DEMO model that the UI labels as such."""
    serving = selectors.model_versions_serving()
    if serving:
        return EnsureActiveResult(already_active=tuple(serving))
    path = Path(csv_path) if csv_path else None
    if path is not None and path.is_file():
        data = salary_import_csv(path=path, source=SalarySource.IMPORT)
        include_sources: tuple[str, ...] | None = None
        used_demo = False
    else:
        data = salary_demo_data_create(rows=demo_rows, seed=demo_seed)
        include_sources = (SalarySource.DEMO,)
        used_demo = True
    trained = model_version_train(
        activate=True,
        seed=seed,
        actor=actor,
        include_sources=include_sources,
        notes="Trained by ensure_active_model" + (" on synthetic DEMO data." if used_demo else "."),
    )
    return EnsureActiveResult(trained=trained, data=data, used_demo_data=used_demo)


# --------------------------------------------------------------------------------------------
# Training runs (issue 9): approved rows → a candidate compared with the champion
# --------------------------------------------------------------------------------------------
# Each stage's percent when it starts, roughly its share of a run's time (docs/benchmarks.md).
STAGE_START_PERCENT: dict[str, int] = {
    STAGE_LOADING: 0,
    STAGE_TRAINING: 2,
    STAGE_EVALUATING: 55,
    STAGE_COMPARING: 95,
    STAGE_SAVING: 98,
}
RUN_FAILED_MESSAGE = (
    "The training run failed unexpectedly; no model version was stored. The worker's log has "
    "the details."
)
LOCK_UNAVAILABLE_MESSAGE = (
    "The training run did not start: the run lock (the cache, Redis) is unavailable. No model "
    "version was stored. Start it again once Redis is back."
)
GATE_FAILED_NOTE = "DID NOT PASS its gates: "
COMPARISON_BASIS = (
    "Both stored artifacts, through the serving predictor, on the same held-out rows: the "
    "latest year's imported rows (feedback rows never enter it). The candidate was trained on "
    "them; the champion too when its training data covered that year (active_saw_held_out)."
)
EVALUATION_BASIS = (
    "The production protocol: the candidate's recipe (train_production_model, the same seed and "
    "parameters) trained on the years before the held-out year only (all approved sources), "
    "scored through the serving predictor on the held-out rows it never saw."
)


class _RunStopped(Exception):
    """The run is no longer this worker's (finished by a twin, failed by a sweep): stop quietly."""


@dataclass
class _RunData:
    """The rows one run uses, deduplicated, with their ids and sources."""

    frame: pd.DataFrame  # the 11 dataset columns + "id" + "source", deduplicated
    rows_raw: int
    sources_raw: dict[str, int]
    held_out_year: int
    held_out: pd.DataFrame
    evaluation_train: pd.DataFrame

    @property
    def training(self) -> pd.DataFrame:
        return self.frame[list(DATASET_COLUMNS)]

    @property
    def is_demo(self) -> bool:
        return set(self.sources_raw) == {SalarySource.DEMO}

    @property
    def feedback_ids(self) -> list[int]:
        return sorted(
            int(i) for i in self.frame.loc[self.frame["source"] == SalarySource.FEEDBACK, "id"]
        )


@dataclass
class _Stages:
    """Moves the run from stage to stage (progress + heartbeat) and times each one."""

    run: TrainingRun
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if not job_progress(
            job=self.run,
            stage=name,
            percent=STAGE_START_PERCENT[name],
            fields={"stage_seconds": dict(self.seconds)},
        ):
            raise _RunStopped
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 3)


def _message_of(exc: ServiceError) -> str:
    return " ".join(message for messages in exc.errors.values() for message in messages)


def training_run_execute(*, run_id: int, task_id: str | None = None) -> None:
    """Run a requested training run to a candidate version, or fail it with a clear reason.

    The claim makes a redelivered task harmless (a finished run is left alone, a copy of an
    earlier message does nothing, a run whose worker died starts over); the version is inserted
    in the one transaction that finishes the run, so a worker killed mid-run leaves none, and a
    twin of the same message finds the run finished and stores nothing.
    """
    claimed = job_start(
        model=TrainingRun,
        job_id=run_id,
        stage=STAGE_LOADING,
        reset={"stage_seconds": {}, "gate_passed": None, "activation": {}},
        task_id=task_id,
    )
    if not claimed:
        logger.info(
            "training run finished, gone, sent again or out of attempts; nothing to do",
            extra={"training_run_id": run_id, "task_id": task_id},
        )
        return
    run = TrainingRun.objects.select_related("requested_by").get(pk=run_id)
    try:
        holder = training_lock_acquire(run=run)
    except Exception:
        logger.exception("training lock unavailable", extra={"training_run_id": run_id})
        job_fail(job=run, message=LOCK_UNAVAILABLE_MESSAGE)
        return
    if holder is not None:
        job_fail(
            job=run,
            message=f"Training run #{holder} holds the training lock (one run at a time); "
            "this run did not start. Start it again once that one has finished.",
        )
        return
    try:
        with job_heartbeat(job=run), training_lock_kept(run=run):
            _execute_claimed(run)
    except _RunStopped:
        logger.warning("training run stopped: no longer running", extra={"training_run_id": run_id})
    except ServiceError as exc:
        job_fail(job=run, message=_message_of(exc))
    except Exception:
        logger.exception("training run failed", extra={"training_run_id": run_id})
        job_fail(job=run, message=RUN_FAILED_MESSAGE)
    finally:
        training_lock_release(run=run)


def _execute_claimed(run: TrainingRun) -> None:
    stages = _Stages(run)
    params = run.params or None
    with stages.stage(STAGE_LOADING):
        data = _run_data()
    # The two fits (the served model; the held-out evaluation's model) are independent and
    # single-threaded, and XGBoost releases the GIL while it fits: the evaluation runs beside
    # the training on the other core, and "evaluating" is the wait for what is left of it.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="held-out-evaluation")
    try:
        with stages.stage(STAGE_TRAINING):
            evaluating = pool.submit(_held_out_evaluation, data, seed=run.seed, params=params)
            bundle = _train(data.training, seed=run.seed, params=params)
            artifact = artifact_bytes(bundle)
        with stages.stage(STAGE_EVALUATING):
            evaluation = evaluating.result()
    finally:
        # A run that failed or was stopped does not wait for the other fit (it finishes alone,
        # touching nothing); a finished one has nothing left to wait for.
        pool.shutdown(wait=False, cancel_futures=True)
    with stages.stage(STAGE_COMPARING):
        comparison = _comparison(data, candidate_artifact=artifact)
        gate = _gate(comparison=comparison, evaluation=evaluation)
    with stages.stage(STAGE_SAVING):
        version = _save(
            run,
            stages=stages,
            artifact=artifact,
            metadata=_run_metadata(
                run, bundle, data=data, evaluation=evaluation, comparison=comparison, gate=gate
            ),
            gate=gate,
        )
    if version is None:
        raise _RunStopped
    activation = _apply_activation_policy(
        run, version=version, comparison=comparison, evaluation=evaluation, gate=gate
    )
    TrainingRun.objects.filter(pk=run.pk).update(activation=activation)
    run.activation = activation
    logger.info(
        "training run succeeded",
        extra={
            "training_run_id": run.pk,
            "model_version": version.version,
            "gate_passed": gate["passed"],
            "stage_seconds": stages.seconds,
        },
    )


def _run_data() -> _RunData:
    """The approved rows, validated and deduplicated, and the held-out split (gates: size, data)."""
    columns, rows = training_selectors.salary_rows_for_training_run()
    if len(rows) < settings.TRAINING_MIN_ROWS:
        raise InvalidInput(
            f"Too few training rows: {len(rows)} approved row(s), at least "
            f"{settings.TRAINING_MIN_ROWS} needed (TRAINING_MIN_ROWS). Import data or approve "
            "reviewed feedback first."
        )
    raw = pd.DataFrame.from_records(rows, columns=list(columns))
    try:
        prepared = prepare_frame(raw)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"The training data failed validation: {exc}") from exc
    prepared["id"] = raw["id"].to_numpy()
    prepared["source"] = raw["source"].to_numpy()
    frame = deduplicate(prepared)  # on the dataset columns; id and source ride along
    evaluable = frame[frame["source"] != SalarySource.FEEDBACK]
    if evaluable.empty:
        raise InvalidInput("No imported rows to hold out: feedback rows are never evaluated on.")
    held_out_year = int(evaluable["work_year"].max())
    held_out = evaluable[evaluable["work_year"] == held_out_year].reset_index(drop=True)
    evaluation_train = frame[frame["work_year"] < held_out_year].reset_index(drop=True)
    minimum = CROSSFIT_FOLDS * MIN_ROWS_PER_FOLD
    if len(frame) < minimum or len(evaluation_train) < minimum:
        raise InvalidInput(
            f"Cannot train and hold out {held_out_year}: need at least {minimum} distinct rows "
            f"in all and before {held_out_year} (got {len(frame)} and {len(evaluation_train)})."
        )
    sources = raw["source"].value_counts().to_dict()
    return _RunData(
        frame=frame,
        rows_raw=len(raw),
        sources_raw={str(name): int(count) for name, count in sorted(sources.items())},
        held_out_year=held_out_year,
        held_out=held_out,
        evaluation_train=evaluation_train,
    )


def _train(frame: pd.DataFrame, *, seed: int, params: Mapping | None) -> ModelBundle:
    try:
        return train_production_model(frame, seed=seed, params=params, evaluate=False)
    except ValueError as exc:
        raise InvalidInput(f"Cannot train on this data: {exc}") from exc


def _predictor(artifact: bytes) -> Predictor:
    return load_predictor(artifact, sha256_hex(artifact))


def _held_out_evaluation(data: _RunData, *, seed: int, params: Mapping | None) -> dict:
    """The production protocol: train before the held-out year, score the held-out rows."""
    train = data.evaluation_train[list(DATASET_COLUMNS)]
    bundle = _train(train, seed=seed, params=params)
    held_out = data.held_out[list(DATASET_COLUMNS)]
    batch = _predictor(artifact_bytes(bundle)).predict_many(_profiles(held_out))
    return {
        "basis": EVALUATION_BASIS,
        "held_out_year": data.held_out_year,
        "train_rows": len(train),
        "train_years": sorted(int(year) for year in train["work_year"].unique()),
        "calibration": bundle.calibration,
        "test": regression_metrics(
            held_out, batch.estimate_usd, batch.interval_low_usd, batch.interval_high_usd
        ),
    }


def _profiles(frame: pd.DataFrame) -> list[SalaryProfile]:
    return [
        SalaryProfile(**{name: row[name] for name in PROFILE_FIELDS})
        for row in frame[list(PROFILE_FIELDS)].to_dict(orient="records")
    ]


def _scores(predictor: Predictor, frame: pd.DataFrame, profiles: list) -> dict[str, object]:
    batch = predictor.predict_many(profiles)
    metrics = regression_metrics(
        frame, batch.estimate_usd, batch.interval_low_usd, batch.interval_high_usd
    )
    return {name: metrics[name] for name in ("mae", "median_ae", "r2", "coverage", "mean_width")}


def _comparison(data: _RunData, *, candidate_artifact: bytes) -> dict[str, object]:
    """Candidate and champion scored by the serving predictor on exactly the same rows."""
    held_out = data.held_out[list(DATASET_COLUMNS)]
    profiles = _profiles(held_out)
    candidate = _predictor(candidate_artifact)
    comparison: dict[str, object] = {
        "basis": COMPARISON_BASIS,
        "held_out_year": data.held_out_year,
        "rows": len(held_out),
        "active_version": None,
        "candidate": _scores(candidate, held_out, profiles),
        "active": None,
    }
    champion = selectors.model_version_champion()
    if champion is None:
        comparison["note"] = "No version is active: nothing to compare with."
        return comparison
    comparison["active_version"] = champion.version
    years = (champion.training_data or {}).get("years") or []
    comparison["active_saw_held_out"] = data.held_out_year in years
    try:
        active = load_predictor(
            selectors.model_version_artifact(version_id=champion.pk), champion.artifact_sha256
        )
    except ArtifactIntegrityError as exc:
        comparison["note"] = f"The champion v{champion.version} does not load: {exc}"
        return comparison
    comparison["active"] = _scores(active, held_out, profiles)
    return comparison


def _gate(*, comparison: dict, evaluation: dict) -> dict[str, object]:
    """Did the candidate pass: not worse than the champion beyond the margin, coverage sane."""
    margin = float(settings.TRAINING_GATE_MAX_MAE_REGRESSION)
    low, high = settings.TRAINING_GATE_COVERAGE_RANGE
    reasons: list[str] = []
    active = comparison.get("active")
    candidate_mae = comparison["candidate"]["mae"]
    if active:
        limit = active["mae"] * (1.0 + margin)
        if candidate_mae > limit:
            reasons.append(
                f"MAE ${candidate_mae:,.0f} is more than {margin:.1%} worse than the champion "
                f"v{comparison['active_version']}'s ${active['mae']:,.0f} on the same "
                f"{comparison['rows']} rows."
            )
    coverage = evaluation["test"].get("coverage")
    if coverage is None or not low <= coverage <= high:
        reasons.append(
            f"Held-out interval coverage {coverage:.1%} is outside {low:.0%}–{high:.0%}."
            if coverage is not None
            else "Held-out interval coverage could not be measured."
        )
    return {
        "passed": not reasons,
        "reasons": reasons,
        "max_mae_regression": margin,
        "coverage_range": [low, high],
    }


def _run_metadata(
    run: TrainingRun,
    bundle: ModelBundle,
    *,
    data: _RunData,
    evaluation: dict,
    comparison: dict,
    gate: dict,
) -> dict[str, object]:
    actor = run.requested_by
    notes = f"Trained by training run #{run.pk} ({run.get_trigger_display()})."
    if not gate["passed"]:
        notes = f"{GATE_FAILED_NOTE}{' '.join(gate['reasons'])} {notes}"
    metadata = trained_model_metadata(
        bundle,
        is_demo=data.is_demo,
        notes=notes,
        training_data={
            "rows_raw": data.rows_raw,
            "sources": data.sources_raw,
            "sources_used": {
                str(k): int(v) for k, v in sorted(data.frame["source"].value_counts().items())
            },
            "feedback_record_ids": data.feedback_ids,
            "held_out": {"year": data.held_out_year, "rows": len(data.held_out)},
            "training_run": {
                "id": run.pk,
                "trigger": run.trigger,
                "actor_id": getattr(actor, "pk", None),
                "actor": getattr(actor, "username", None),
            },
        },
    )
    metrics = dict(metadata["metrics"])
    test = evaluation["test"]
    metrics.update(
        {
            "production_protocol": {
                "protocol": "production",
                "validation_method": (evaluation["calibration"] or {}).get("validation"),
                "rows": {"train": evaluation["train_rows"], "test": test["rows"]},
                "years": {"train": evaluation["train_years"], "test": test["years"]},
                "models": {"ours": {"test": test}},
            },
            "evaluation": evaluation,
            "comparison": comparison,
            "gate": gate,
        }
    )
    metrics["summary"] = selectors.metrics_summary(metrics)
    return {**metadata, "metrics": metrics}


def _save(
    run: TrainingRun,
    *,
    stages: _Stages,
    artifact: bytes,
    metadata: dict,
    gate: dict,
) -> ModelVersion | None:
    """Insert the candidate and finish the run in ONE transaction; None if not this run's."""
    started = time.perf_counter()
    with transaction.atomic():
        locked = (
            TrainingRun.objects.select_for_update()
            .filter(pk=run.pk, status=JobStatus.RUNNING, celery_task_id=run.celery_task_id)
            .first()
        )
        if locked is None or locked.model_version_id is not None:
            return None
        version = model_version_register(
            artifact=artifact,
            metadata=metadata,
            actor=run.requested_by,
            event_details={"training_run": run.pk, "gate_passed": gate["passed"]},
        )
        stages.seconds[STAGE_SAVING] = round(time.perf_counter() - started, 3)
        if not job_succeed(
            job=run,
            fields={
                "model_version": version,
                "gate_passed": gate["passed"],
                "stage_seconds": dict(stages.seconds),
            },
        ):
            transaction.set_rollback(True)
            return None
    return version


def _apply_activation_policy(
    run: TrainingRun, *, version: ModelVersion, comparison: dict, evaluation: dict, gate: dict
) -> dict[str, object]:
    """Off unless TRAINING_POLICY_EXPERIMENT_WEIGHT > 0; then a good candidate starts an
    experiment through the rollout service, which writes the audit events."""
    weight = int(settings.TRAINING_POLICY_EXPERIMENT_WEIGHT)
    if weight <= 0:
        return {"policy": "off", "started": False}
    decision: dict[str, object] = {"policy": "experiment", "weight": weight, "started": False}
    active = comparison.get("active")
    coverage = evaluation["test"].get("coverage")
    low, high = settings.TRAINING_POLICY_COVERAGE_RANGE
    minimum = float(settings.TRAINING_POLICY_MIN_MAE_IMPROVEMENT)
    if not gate["passed"]:
        decision["reason"] = "The candidate did not pass its gates."
        return decision
    if not active:
        decision["reason"] = "No champion to run an experiment against."
        return decision
    improvement = (active["mae"] - comparison["candidate"]["mae"]) / active["mae"]
    decision["mae_improvement"] = round(improvement, 4)
    if improvement < minimum:
        decision["reason"] = f"MAE improves by {improvement:.2%}, less than {minimum:.0%}."
        return decision
    if coverage is None or not low <= coverage <= high:
        decision["reason"] = f"Held-out coverage {coverage} is outside {low:.0%}–{high:.0%}."
        return decision
    reason = (
        f"Training run #{run.pk}: v{version.version} improves MAE by {improvement:.2%} over "
        f"v{comparison['active_version']} on {comparison['rows']} held-out rows, coverage "
        f"{coverage:.1%}."
    )
    try:
        experiment = rollout_services.experiment_start_for_candidate(
            candidate_version=version.version,
            weight=weight,
            actor=run.requested_by,
            reason=reason,
            automatic=True,
        )
    except ServiceError as exc:
        decision["reason"] = _message_of(exc)
        return decision
    decision.update({"started": True, "experiment_id": getattr(experiment, "pk", None)})
    decision["reason"] = reason
    return decision
