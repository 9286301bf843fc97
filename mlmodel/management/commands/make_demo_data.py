"""Insert synthetic demo salary rows (for a machine without the real data file)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlmodel.management.commands._progress import progress_bars
from mlmodel.training_services import salary_demo_data_create
from portal.exceptions import ServiceError

DEFAULT_DEMO_ROWS = 5_000
DEFAULT_DEMO_SEED = 42


class Command(BaseCommand):
    help = (
        "Insert synthetic demo salary rows marked source=demo. Running it again with the same "
        "--rows and --seed adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=DEFAULT_DEMO_ROWS)
        parser.add_argument("--seed", type=int, default=DEFAULT_DEMO_SEED)

    def handle(self, *args, rows: int, seed: int, **options) -> None:
        try:
            with progress_bars(self.stdout._out) as progress:
                result = salary_demo_data_create(rows=rows, seed=seed, progress=progress)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        if result.already_imported:
            self.stdout.write(
                f"Demo data with {rows:,} rows and seed {seed} already exists "
                f"(batch {result.batch_id}): no rows added."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Inserted {result.imported_count:,} synthetic DEMO rows (seed {seed}, "
                f"batch {result.batch_id})."
            )
        )
