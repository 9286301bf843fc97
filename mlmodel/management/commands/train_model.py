"""Train a model on the approved salary rows in the database and register it."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlmodel.core.artifacts import short_sha256
from mlmodel.management.commands._metrics import metrics_table
from mlmodel.models import SalarySource
from mlmodel.training_services import DEFAULT_TRAINING_SEED, model_version_train
from portal.exceptions import ServiceError


class Command(BaseCommand):
    help = (
        "Train a new model version on the approved salary rows (real rows when there are any, "
        "else the demo rows), print its metrics and register it (a candidate unless --activate)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--activate", action="store_true", help="serve it at once (100%%)")
        parser.add_argument("--seed", type=int, default=DEFAULT_TRAINING_SEED)
        parser.add_argument(
            "--sources",
            help="comma-separated row sources to train on "
            f"({', '.join(SalarySource.values)}); default: real rows if any, else demo",
        )
        parser.add_argument("--notes", default="", help="free text stored with the version")
        parser.add_argument(
            "--no-evaluate",
            action="store_true",
            help="skip the two evaluation protocols (faster; no test metrics are stored)",
        )

    def handle(self, *args, **options) -> None:
        sources = None
        if options["sources"]:
            sources = [name.strip() for name in options["sources"].split(",") if name.strip()]
            unknown = sorted(set(sources) - set(SalarySource.values))
            if unknown:
                raise CommandError(f"Unknown source(s): {', '.join(unknown)}")
        self.stdout.write("Training… (this takes a few minutes on the full data set)")
        try:
            model_version = model_version_train(
                activate=options["activate"],
                seed=options["seed"],
                notes=options["notes"],
                include_sources=sources,
                evaluate=not options["no_evaluate"],
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        for line in metrics_table(model_version.metrics):
            self.stdout.write(line)
        data = model_version.training_data
        self.stdout.write(
            f"training data: {data.get('rows_raw', '?')} rows ({data.get('rows', '?')} distinct), "
            f"sources {data.get('sources', {})}, sha256 {short_sha256(data.get('sha256', ''))}…"
        )
        state = "ACTIVE (serving 100%)" if options["activate"] else "a candidate (not serving)"
        demo = " — a DEMO model trained on synthetic data" if model_version.is_demo else ""
        self.stdout.write(
            self.style.SUCCESS(f"Registered model v{model_version.version}, {state}{demo}.")
        )
