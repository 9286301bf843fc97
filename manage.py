#!/usr/bin/env python
"""Django's command-line utility for MLPayGrade Portal."""

import os
import sys

CONFIGURATION_ERROR_EXIT = 2


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A missing or wrong setting is one clear line that says how to fix it, not a traceback.
        print(f"Configuration error: {exc}", file=sys.stderr)
        sys.exit(CONFIGURATION_ERROR_EXIT)


if __name__ == "__main__":
    main()
