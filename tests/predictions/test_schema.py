"""The OpenAPI schema validates without warnings and describes our endpoints accurately."""

import yaml
from django.core.management import call_command

from feedback.models import MAX_COMMENT_LENGTH
from mlmodel.core.profile import (
    COUNTRY_NAMES,
    EXPERIENCE_LEVELS,
    MAX_COUNTRY_TEXT_LENGTH,
    MAX_JOB_TITLE_LENGTH,
    MAX_SALARY_USD,
    MIN_SALARY_USD,
    MIN_WORK_YEAR,
    PROFILE_FIELDS,
    max_work_year,
)
from portal.accounts.services import TOKEN_NAME_MAX_LENGTH
from predictions import rules
from predictions.batch import CSV_FILE_PATTERN


def test_schema_is_valid_and_documents_bodies_and_errors(tmp_path):
    # when
    path = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))

    # then
    paths = yaml.safe_load(path.read_text())["paths"]
    create = paths["/api/v1/predictions/"]["post"]
    assert "application/json" in create["requestBody"]["content"]
    assert {"201", "400", "401", "415", "429"} <= set(create["responses"])
    batch = paths["/api/v1/predictions/batch/"]["post"]
    assert {"multipart/form-data", "text/csv"} <= set(batch["requestBody"]["content"])
    assert {"text/csv", "application/json"} <= set(batch["responses"]["200"]["content"])
    assert {"202", "413", "415"} <= set(batch["responses"])
    feedback = paths["/api/v1/predictions/{prediction_id}/feedback/"]["post"]
    assert {"200", "201", "400", "404"} <= set(feedback["responses"])
    listing = paths["/api/v1/predictions/"]["get"]["responses"]["200"]["content"]
    assert listing["application/json"]["schema"]["$ref"].endswith("/PredictionPage")


def _schema(tmp_path) -> dict:
    path = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_states_the_same_rules_the_api_applies(tmp_path):
    # when
    document = _schema(tmp_path)

    # then each input is described by the constants of the rule that checks it
    components = document["components"]["schemas"]
    profile = components["ProfileInputRequest"]["properties"]
    assert profile["job_title"]["maxLength"] == MAX_JOB_TITLE_LENGTH
    assert profile["work_year"] == {
        "type": "integer",
        "minimum": MIN_WORK_YEAR,
        "maximum": max_work_year(),
        "description": profile["work_year"]["description"],
    }
    assert {"enum": list(EXPERIENCE_LEVELS)} in profile["experience_level"]["anyOf"]
    country = components["Country"]
    assert country["maxLength"] == MAX_COUNTRY_TEXT_LENGTH
    assert {"enum": list(COUNTRY_NAMES)} in country["anyOf"]
    assert set(components["ProfileInputRequest"]["required"]) == set(PROFILE_FIELDS)

    paths = document["paths"]
    date_to = next(
        p for p in paths["/api/v1/predictions/"]["get"]["parameters"] if p["name"] == "date_to"
    )
    assert date_to["schema"] == {
        "type": "string",
        "format": "date",
        "pattern": rules.HISTORY_DATE_PATTERN,
    }

    batch_body = paths["/api/v1/predictions/batch/"]["post"]["requestBody"]
    assert batch_body["required"] is True
    assert batch_body["content"]["text/csv"]["schema"]["pattern"] == CSV_FILE_PATTERN
    multipart = batch_body["content"]["multipart/form-data"]
    assert multipart["encoding"] == {"file": {"contentType": "text/csv"}}

    feedback = components["FeedbackInputRequest"]["properties"]
    assert feedback["comment"]["type"] == "string"
    assert feedback["comment"]["maxLength"] == MAX_COMMENT_LENGTH
    assert (feedback["actual_salary_usd"]["minimum"], feedback["actual_salary_usd"]["maximum"]) == (
        MIN_SALARY_USD,
        MAX_SALARY_USD,
    )

    token_name = components["TokenObtainInputRequest"]["properties"]["name"]
    assert token_name["maxLength"] == TOKEN_NAME_MAX_LENGTH
