"""A web process that has served predictions never imported the training stack.

The import-linter contracts check the import graph; this checks the running thing: a fresh
process loads the WSGI application as gunicorn does, serves the HTML form, a prediction through
the API and the result page, and then reports which heavy packages are in ``sys.modules``.
"""

import os

import pytest

from tests.conftest import _test_database_url
from tests.processes import run_django_script

TRAINING_STACK = ("sklearn", "scipy", "pandas", "xgboost")
SUBPROCESS_TIMEOUT_SECONDS = 120

WEB_PROCESS_SCRIPT = """
import json, sys
from portal.wsgi import application  # what gunicorn loads
from django.test import Client
from mlmodel.core.profile import EXAMPLE_PROFILE

from django.urls import reverse

TRAINING_STACK = sys.argv[4].split(",")
token = sys.argv[1]
client = Client()
statuses = {}
api = client.post(
    "/api/v1/predictions/",
    data=json.dumps(EXAMPLE_PROFILE.as_dict()),
    content_type="application/json",
    HTTP_AUTHORIZATION=f"Token {token}",
)
statuses["api"] = api.status_code
client.login(username=sys.argv[2], password=sys.argv[3])
statuses["form"] = client.get(reverse("predictions:create")).status_code
result = client.post(reverse("predictions:create"), data=EXAMPLE_PROFILE.as_dict())
statuses["form_post"] = result.status_code
statuses["result_page"] = client.get(result.get("Location", "/missing/")).status_code
stack = sorted(m for m in sys.modules if m.split(".")[0] in TRAINING_STACK)
print(json.dumps({"statuses": statuses, "training_stack": stack}))
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_web_process_serves_predictions_without_the_training_stack(
    active_model_version, user, password, api_token_key
):
    # given a fresh process pointed at the test database, which holds an active model
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
    }

    # when it serves the form, the API and the result page
    report = run_django_script(
        WEB_PROCESS_SCRIPT,
        api_token_key,
        user.username,
        password,
        ",".join(TRAINING_STACK),
        env=env,
    )

    # then every page answered and no training package was imported
    assert report["statuses"] == {"api": 201, "form": 200, "form_post": 302, "result_page": 200}
    assert report["training_stack"] == []
