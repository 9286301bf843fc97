"""The OpenAPI schema validates without warnings and describes our endpoints accurately."""

import yaml
from django.core.management import call_command


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
