"""CPU time of the API's request path, piece by piece, in the checkout it is run from.

    cd CHECKOUT && DATABASE_URL=… REDIS_URL=… API_TOKEN=… /path/to/.venv/bin/python \
        /path/to/tests/load/request_cpu.py

Needs a migrated database with an active model and a user's API token (``API_TOKEN``), as
``tests/load/api_benchmark.sh`` sets up. Prints one JSON line: CPU milliseconds per call (the
best of REPEATS rounds of CALLS calls, after WARMUP calls) of the profile validation, the token
authentication and one whole API prediction through Django's handler (which stores it). CPU
time, not wall time: on a shared machine it is what moves least with the neighbours' load.
"""

import io
import json
import os
import sys
import time

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

WARMUP = 30
CALLS = 200
REPEATS = 3
MILLISECONDS = 1000


def cpu_ms(function) -> float:
    for _ in range(WARMUP):
        function()
    best = float("inf")
    for _ in range(REPEATS):
        started = time.process_time()
        for _ in range(CALLS):
            function()
        best = min(best, (time.process_time() - started) / CALLS * MILLISECONDS)
    return round(best, 3)


def prediction_environ(token: str, body: bytes) -> dict:
    """The WSGI environ of one API prediction (``POST /api/v1/predictions/`` with a token)."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/predictions/",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }


def main() -> None:
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIRequest
    from rest_framework.request import Request

    from mlmodel.core.profile import EXAMPLE_PROFILE
    from portal.accounts.authentication import ApiTokenAuthentication
    from portal.wsgi import application
    from predictions.serializers import ProfileInputSerializer

    token = os.environ["API_TOKEN"]
    profile = EXAMPLE_PROFILE.as_dict()
    body = json.dumps(profile).encode()

    def environ() -> dict:
        return prediction_environ(token, body)

    def validate() -> None:
        ProfileInputSerializer(data=profile).is_valid(raise_exception=True)

    def authenticate() -> None:
        assert ApiTokenAuthentication().authenticate(Request(WSGIRequest(environ())))

    def predict() -> None:
        assert application.get_response(WSGIRequest(environ())).status_code == 201

    print(
        json.dumps(
            {
                "checkout": os.getcwd(),
                "validate_profile_cpu_ms": cpu_ms(validate),
                "authenticate_token_cpu_ms": cpu_ms(authenticate),
                "api_prediction_cpu_ms": cpu_ms(predict),
            }
        )
    )


if __name__ == "__main__":
    main()
