"""Create (or reset) a demo account without prompts, for demos and start-up scripts."""

import os

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.accounts.services import demo_user_ensure
from portal.exceptions import ServiceError

PASSWORD_ENV_VAR = "DEMO_USER_PASSWORD"  # noqa: S105 - a variable name
DEFAULT_USERNAME = "demo"


class Command(BaseCommand):
    help = (
        "Create the demo user, or reset its password if it exists (idempotent). The password "
        f"comes from --password or the {PASSWORD_ENV_VAR} environment variable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default=DEFAULT_USERNAME)
        parser.add_argument(
            "--password",
            default=None,
            help=f"Defaults to ${PASSWORD_ENV_VAR} (preferred: keeps it out of shell history).",
        )
        parser.add_argument("--email", default=None)
        parser.add_argument("--staff", action="store_true", help="Allow the admin site.")
        parser.add_argument("--superuser", action="store_true", help="Staff with every permission.")

    def handle(self, *args, **options) -> None:
        password = options["password"] or os.environ.get(PASSWORD_ENV_VAR, "")
        if not password:
            raise CommandError(f"No password: pass --password or set {PASSWORD_ENV_VAR}.")
        try:
            user, created = demo_user_ensure(
                username=options["username"],
                password=password,
                email=options["email"],
                is_staff=options["staff"],
                is_superuser=options["superuser"],
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        role = "superuser" if user.is_superuser else "staff" if user.is_staff else "user"
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created {role} '{user.username}'."))
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Updated the password of existing {role} '{user.username}'.")
            )
