"""Make sure a model serves (used by `make run`): train one when none is active."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlmodel.training_services import DEMO_MODEL_ROWS, model_version_ensure_active
from portal.exceptions import ServiceError


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

    def handle(self, *args, csv: str, demo_rows: int, **options) -> None:
        self.stdout.write("Checking for an active model…")
        try:
            result = model_version_ensure_active(csv_path=csv, demo_rows=demo_rows)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if result.already_active:
            versions = ", ".join(
                f"v{v.version} ({v.traffic_share}%{', DEMO' if v.is_demo else ''})"
                for v in result.already_active
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
