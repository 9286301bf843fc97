"""Make sure a model serves (used by `make run`): train one when none is active.

The first run imports the data and trains for about a minute; it says what it is doing, one
line per step (the training stack's own log lines, without timestamps) and a "still …" line
every ``--progress-every`` seconds (default: the ``ENSURE_MODEL_PROGRESS_SECONDS`` setting), so
a newcomer never stares at a silent terminal. The setting is there because `make run` calls the
command without options: the fresh-clone test sets it short so a "still …" line must appear.
"""

import argparse
import logging
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlmodel.training_services import DEMO_MODEL_ROWS, model_version_ensure_active
from portal.exceptions import ServiceError

TICK_SETTING = "ENSURE_MODEL_PROGRESS_SECONDS"
STEP_LOGGER = "mlmodel"
IMPORT_LOGGER = "mlmodel.importing"


class _StepReporter(logging.Handler):
    """Echoes the model stack's INFO lines as steps and ticks while a step runs."""

    def __init__(self, write, stage: str, *, tick_seconds: float):
        super().__init__(level=logging.INFO)
        self._write = write
        self.stage = stage
        self._tick_seconds = tick_seconds
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="ensure-model-ticker", daemon=True)

    def emit(self, record: logging.LogRecord) -> None:
        self._write(f"  {record.getMessage()}")
        if record.name == IMPORT_LOGGER:
            self.stage = "training the model and measuring how good it is"

    def _tick(self) -> None:
        while not self._stop.wait(self._tick_seconds):
            self._write(f"  … still {self.stage} ({time.monotonic() - self._started:.0f} s)")

    def __enter__(self) -> "_StepReporter":
        logger = logging.getLogger(STEP_LOGGER)
        self._saved = (logger.level, logger.propagate)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(self)
        self._ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._ticker.join()
        logger = logging.getLogger(STEP_LOGGER)
        logger.removeHandler(self)
        logger.setLevel(self._saved[0])
        logger.propagate = self._saved[1]


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:  # also refuses NaN
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a positive number of seconds (--progress-every or {TICK_SETTING})"
        )
    return seconds


class Command(BaseCommand):
    help = (
        "Exit at once if a model version is active. Otherwise import SALARIES_CSV (once) and "
        "train + activate a model on it; without that file, train a clearly labelled DEMO model "
        "on synthetic data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--csv",
            default=settings.SALARIES_CSV,
            help="salary CSV to import when no model is active (default: SALARIES_CSV)",
        )
        parser.add_argument("--demo-rows", type=int, default=DEMO_MODEL_ROWS)
        parser.add_argument(
            "--progress-every",
            type=_positive_seconds,
            default=str(settings.ENSURE_MODEL_PROGRESS_SECONDS),
            metavar="SECONDS",
            help=(
                "seconds between the '… still …' lines while it imports and trains "
                f"(default: the {TICK_SETTING} setting, "
                f"now {settings.ENSURE_MODEL_PROGRESS_SECONDS:g})"
            ),
        )

    def handle(self, *args, csv: str, demo_rows: int, progress_every: float, **options) -> None:
        self._say("Checking for an active model…")
        started = time.monotonic()
        if csv and Path(csv).is_file():
            stage = f"importing {csv}"
        else:
            stage = f"making {demo_rows:,} rows of demo data"
        try:
            with _StepReporter(self._say, stage, tick_seconds=progress_every):
                result = model_version_ensure_active(csv_path=csv, demo_rows=demo_rows)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if result.trained is not None:
            self._say(f"  Done in {time.monotonic() - started:.0f} s.")
        if result.already_active:
            versions = ", ".join(
                f"v{v.version}{' (DEMO)' if v.is_demo else ''}" for v in result.already_active
            )
            self.stdout.write(f"An active model exists: {versions}. Nothing to do.")
            return
        trained = result.trained
        if result.used_demo_data:
            self.stdout.write(
                self.style.WARNING(
                    f"No salary file at {csv}: trained v{trained.version} on SYNTHETIC demo "
                    "data. This is a DEMO model; its estimates are not real salaries. Import "
                    "the real data (import_salaries) and run train_model --activate."
                )
            )
            return
        data = result.data
        imported = (
            "already imported"
            if data.already_imported
            else f"imported {data.imported_count:,} rows"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{csv}: {imported}; trained and activated model v{trained.version}."
            )
        )

    def _say(self, line: str) -> None:
        """One line, flushed at once (make pipes our output, which would buffer it)."""
        self.stdout.write(line)
        self.stdout.flush()
