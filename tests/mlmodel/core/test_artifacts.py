"""Artifact round trip, tamper refusal, and the Predictor's output contract."""

import io
import json
import zipfile

import numpy as np
import pytest

from mlmodel.core import artifacts
from mlmodel.core.artifacts import (
    ArtifactIntegrityError,
    artifact_bytes,
    load_predictor,
    read_manifest,
    sha256_hex,
)
from mlmodel.core.encoding import RAW_INPUTS
from mlmodel.core.predictor import Predictor
from mlmodel.core.profile import PROFILE_FIELDS, parse_profile
from mlmodel.core.train.demo_data import make_demo_dataframe
from mlmodel.core.train.production import train_production_model

PROFILE = {
    "job_title": "Machine Learning Engineer",
    "experience_level": "SE",
    "employment_type": "FT",
    "company_location": "US",
    "employee_residence": "US",
    "remote_ratio": 100,
    "company_size": "M",
    "work_year": 2024,
}


@pytest.fixture(scope="module")
def frame():
    return make_demo_dataframe(2000, seed=11)


@pytest.fixture(scope="module")
def trained(frame):
    return train_production_model(frame, seed=11, evaluate=False)


@pytest.fixture(scope="module")
def blob(trained):
    return artifact_bytes(trained)


@pytest.fixture(scope="module")
def predictor(blob):
    return load_predictor(blob, sha256_hex(blob))


@pytest.fixture(scope="module")
def profiles(frame):
    return [parse_profile(row) for row in frame[list(PROFILE_FIELDS)].to_dict("records")]


def test_artifact_is_deterministic_zip_of_json_and_ubj(trained, blob):
    assert artifact_bytes(trained) == blob
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert set(archive.namelist()) == artifacts.EXPECTED_MEMBERS
    manifest = read_manifest(blob)
    assert manifest["format_version"] == artifacts.ARTIFACT_FORMAT_VERSION
    assert manifest["interval_level"] == pytest.approx(0.9)
    assert manifest["training_data"]["rows"] == trained.fingerprint["rows"]
    assert "xgboost" in manifest["library_versions"]


def test_round_trip_predictions_are_bit_identical(trained, blob, predictor, profiles):
    in_memory = Predictor.from_bundle(trained).predict_many(profiles, with_contributions=True)
    loaded = predictor.predict_many(profiles, with_contributions=True)
    reloaded = load_predictor(bytes(blob), sha256_hex(blob)).predict_many(
        profiles, with_contributions=True
    )
    for batch in (loaded, reloaded):
        assert np.array_equal(in_memory.estimate_usd, batch.estimate_usd)
        assert np.array_equal(in_memory.interval_low_usd, batch.interval_low_usd)
        assert np.array_equal(in_memory.interval_high_usd, batch.interval_high_usd)
        assert np.array_equal(in_memory.contributions_usd, batch.contributions_usd)


def test_predict_one_matches_predict_many(predictor, profiles):
    batch = predictor.predict_many(profiles[:300])
    singles = [predictor.predict_one(p) for p in profiles[:300]]
    assert [s.estimate_usd for s in singles] == batch.estimate_usd.tolist()
    assert [s.interval_low_usd for s in singles] == batch.interval_low_usd.tolist()
    assert [s.interval_high_usd for s in singles] == batch.interval_high_usd.tolist()


def test_point_prediction_contract(predictor, profiles):
    for profile in [parse_profile(PROFILE), *profiles[:200]]:
        result = predictor.predict_one(profile)
        assert isinstance(result.estimate_usd, int)
        assert 0 <= result.interval_low_usd <= result.estimate_usd <= result.interval_high_usd
        assert result.interval_level == pytest.approx(0.9)
        names = [name for name, _ in result.contributions]
        assert sorted(names) == sorted(RAW_INPUTS)
        magnitudes = [abs(usd) for _, usd in result.contributions]
        assert magnitudes == sorted(magnitudes, reverse=True)
        total = result.baseline_usd + sum(usd for _, usd in result.contributions)
        assert total == pytest.approx(result.estimate_usd, abs=1.0)
    json.dumps(result.as_dict())


def test_unknown_title_and_future_year_still_predict(predictor):
    profile = parse_profile({**PROFILE, "job_title": "Chief Vibes Officer", "work_year": 2026})
    result = predictor.predict_one(profile)
    assert 0 < result.interval_low_usd <= result.estimate_usd <= result.interval_high_usd


def test_empty_batch(predictor):
    assert len(predictor.predict_many([])) == 0


def test_wrong_sha_refused(blob):
    with pytest.raises(ArtifactIntegrityError, match="sha256 mismatch"):
        load_predictor(blob, "0" * 64)
    with pytest.raises(ArtifactIntegrityError):
        load_predictor(blob, "")


@pytest.mark.parametrize("position", [0.1, 0.5, 0.9, -1])
def test_one_flipped_byte_refused(blob, position):
    index = len(blob) - 1 if position == -1 else int(len(blob) * position)
    tampered = bytearray(blob)
    tampered[index] ^= 0x01
    tampered = bytes(tampered)
    with pytest.raises(ArtifactIntegrityError):
        load_predictor(tampered, sha256_hex(blob))


def test_flipped_byte_in_model_data_refused_even_with_matching_sha(blob):
    """An attacker who also rewrites the stored hash still cannot slip in a changed booster."""
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        info = archive.getinfo(artifacts.POINT_MODEL_NAME)
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    tampered = bytearray(blob)
    tampered[data_start + info.compress_size // 2] ^= 0x01
    tampered = bytes(tampered)
    with pytest.raises(ArtifactIntegrityError):
        load_predictor(tampered, sha256_hex(tampered))


def _rezip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _members(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_swapped_member_content_refused(blob):
    members = _members(blob)
    members[artifacts.POINT_MODEL_NAME] = members[artifacts.QUANTILE_MODEL_NAME]
    forged = _rezip(members)
    with pytest.raises(ArtifactIntegrityError, match="Checksum mismatch"):
        load_predictor(forged, sha256_hex(forged))


def test_extra_member_refused(blob):
    members = {**_members(blob), "model.pkl": b"\x80\x04K\x01."}
    forged = _rezip(members)
    with pytest.raises(ArtifactIntegrityError, match="members"):
        load_predictor(forged, sha256_hex(forged))


def test_other_format_version_refused(blob):
    members = _members(blob)
    manifest = json.loads(members[artifacts.MANIFEST_NAME])
    manifest["format_version"] = 99
    members[artifacts.MANIFEST_NAME] = json.dumps(manifest).encode()
    forged = _rezip(members)
    with pytest.raises(ArtifactIntegrityError, match="format version"):
        load_predictor(forged, sha256_hex(forged))


@pytest.mark.parametrize("junk", [b"", b"not a zip", b"PK\x03\x04garbage"])
def test_junk_refused(junk):
    with pytest.raises(ArtifactIntegrityError):
        load_predictor(junk, sha256_hex(junk))
