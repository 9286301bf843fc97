"""Start a training run in a worker and, by default, follow it to the end with a progress bar."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from mlmodel.models import DEFAULT_TRAINING_RUN_SEED, TrainingRun, TrainingTrigger
from mlmodel.training_runs import TRAINING_STAGES, training_run_request
from mlmodel.training_selectors import comparison_rows, training_run_get
from portal.exceptions import ServiceError
from portal.jobs.models import FULL_PERCENT, UNFINISHED_STATUSES, JobStatus

POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = (
        "Request a training run (approved rows → a candidate version compared with the "
        "champion). Waits with a progress bar unless --no-wait; exits non-zero with the reason "
        "if the run fails. Without a broker (eager mode) the run executes in this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_TRAINING_RUN_SEED)
        parser.add_argument(
            "--no-wait", action="store_true", help="print the run's id and return at once"
        )

    def handle(self, *args, **options) -> None:
        try:
            run = training_run_request(trigger=TrainingTrigger.COMMAND, seed=options["seed"])
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Training run #{run.pk} {run.status}.")
        if options["no_wait"]:
            return
        run = self._follow(run)
        if run.status == JobStatus.FAILED:
            raise CommandError(f"Training run #{run.pk} failed: {run.message}")
        self._report(run)

    def _follow(self, run: TrainingRun) -> TrainingRun:
        """Poll the run until it finishes, drawing a bar (on a terminal) as it goes."""
        enabled = hasattr(self.stdout, "isatty") and self.stdout.isatty()
        with tqdm(
            total=FULL_PERCENT, unit="%", file=self.stdout, leave=False, disable=not enabled
        ) as bar:
            while True:
                run = training_run_get(run_id=run.pk)
                bar.set_description(run.stage or run.status)
                bar.update(run.progress_percent - bar.n)
                if run.status not in UNFINISHED_STATUSES:
                    return run
                time.sleep(POLL_SECONDS)

    def _report(self, run: TrainingRun) -> None:
        version = run.model_version
        timings = ", ".join(
            f"{name} {run.stage_seconds[name]:.1f} s"
            for name in TRAINING_STAGES
            if name in run.stage_seconds
        )
        self.stdout.write(f"stages: {timings}")
        comparison = (version.metrics or {}).get("comparison") or {}
        champion = comparison.get("active_version")
        self.stdout.write(
            f"on {comparison.get('rows')} held-out rows of {comparison.get('held_out_year')}: "
            f"candidate v{version.version} vs champion "
            f"{f'v{champion}' if champion else '(none)'}"
        )
        for label, candidate, active in comparison_rows(run):
            self.stdout.write(f"  {label:<24} {candidate:>12} {active:>12}")
        test = ((version.metrics or {}).get("evaluation") or {}).get("test") or {}
        if test:
            self.stdout.write(
                f"held-out evaluation (trained before {comparison.get('held_out_year')}): MAE "
                f"${test.get('mae', 0):,.0f}, coverage {test.get('coverage') or 0:.1%}"
            )
        gate = (version.metrics or {}).get("gate") or {}
        if run.gate_passed:
            self.stdout.write(self.style.SUCCESS(f"Candidate v{version.version} passed its gates."))
        else:
            reasons = " ".join(gate.get("reasons", []))
            self.stdout.write(
                self.style.WARNING(f"Candidate v{version.version} DID NOT PASS: {reasons}")
            )
        activation = run.activation or {}
        if activation.get("started"):
            self.stdout.write(f"Experiment started: {activation.get('reason')}")
