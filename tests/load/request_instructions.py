"""Instructions per API prediction, counted by callgrind, in the checkout it is run from.

    cd CHECKOUT && DATABASE_URL=… REDIS_URL=… API_TOKEN=… SECRET_KEY=… DEBUG=0 \
        valgrind --tool=callgrind --callgrind-out-file=/tmp/cg/out.%p \
        /path/to/.venv/bin/python /path/to/tests/load/request_instructions.py [--without MIDDLEWARE]
    grep ^summary /tmp/cg/out.*.1        # instructions of the timed requests; divide by CALLS

Timings on a shared 2-core machine move by tens of percent with the neighbours' load;
instruction counts do not, so small changes to the request path compare here, side by side.
Needs what ``tests/load/request_cpu.py`` needs (a migrated database with an active model and a
user's API token). After WARMUP requests through Django's handler the script zeroes
callgrind's counters (``callgrind_control -z``), makes CALLS requests and dumps them
(``callgrind_control -d``): the dump (``….1``) holds those requests only. ``--without`` drops
a middleware (dotted path, repeatable) to see what it costs. Without valgrind it just prints
the CPU milliseconds per request.
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))
from request_cpu import prediction_environ  # this directory's sibling script

WARMUP = 30
CALLS = 50
MILLISECONDS = 1000


def _callgrind(command: str) -> None:
    """Zero or dump this process's counters; nothing when not running under callgrind."""
    subprocess.run(
        ["callgrind_control", command, str(os.getpid())],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--without", action="append", default=[], metavar="MIDDLEWARE")
    parser.add_argument("--calls", type=int, default=CALLS)
    args = parser.parse_args()

    import django
    from django.conf import settings

    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m not in args.without]
    django.setup()
    from django.core.handlers.wsgi import WSGIRequest
    from django.core.wsgi import get_wsgi_application

    from mlmodel.core.profile import EXAMPLE_PROFILE

    application = get_wsgi_application()
    token = os.environ["API_TOKEN"]
    body = json.dumps(EXAMPLE_PROFILE.as_dict()).encode()

    def predict() -> None:
        environ = prediction_environ(token, body)
        response = application.get_response(WSGIRequest(environ))
        assert response.status_code == 201, response.content

    for _ in range(WARMUP):
        predict()
    _callgrind("-z")
    started = time.thread_time()
    for _ in range(args.calls):
        predict()
    cpu_ms = (time.thread_time() - started) / args.calls * MILLISECONDS
    _callgrind("-d")
    print(json.dumps({"checkout": os.getcwd(), "calls": args.calls, "cpu_ms": round(cpu_ms, 3)}))


if __name__ == "__main__":
    main()
