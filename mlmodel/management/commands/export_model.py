"""Export one model version to a JSON file (metadata, base64 artifact, sha256)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlmodel.core.artifacts import short_sha256
from mlmodel.services import model_version_export
from portal.exceptions import ServiceError


class Command(BaseCommand):
    help = "Export a model version as JSON, to move it between environments (import_model)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        # ``--version N`` names the model version here, replacing Django's own --version flag.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--version", dest="model_version", type=int, required=True, help="model version number"
        )
        parser.add_argument("--output", required=True, help="file to write (JSON)")

    def handle(self, *args, model_version: int, output: str, **options) -> None:
        try:
            payload = model_version_export(version=model_version)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        path = Path(output)
        try:
            path.write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc}") from exc
        digest = short_sha256(payload["artifact_sha256"])
        self.stdout.write(
            self.style.SUCCESS(f"Exported v{model_version} to {path} (sha256 {digest}…).")
        )
