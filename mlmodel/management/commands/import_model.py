"""Import a model exported with export_model, as a new version."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlmodel.services import model_version_import
from portal.exceptions import ServiceError


class Command(BaseCommand):
    help = (
        "Import a model export (JSON). Its sha256 is verified and it must load before it is "
        "stored; it gets the next version number here (the original one is kept in its notes)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="JSON file written by export_model")
        parser.add_argument("--activate", action="store_true", help="serve it at once (100%%)")

    def handle(self, *args, path: str, activate: bool, **options) -> None:
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{path} is not a JSON model export: {exc}") from exc
        try:
            model_version = model_version_import(payload=payload, activate=activate)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        state = "active" if activate else "a candidate"
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported v{payload.get('version')} as v{model_version.version} ({state})."
            )
        )
