"""match_title: what the model treats a typed title as, and why."""

import pytest

from mlmodel.core.taxonomy import (
    FAMILY_BUSINESS_INTELLIGENCE,
    FAMILY_DATA_ANALYSIS,
    FAMILY_DATA_ARCHITECTURE,
    FAMILY_DATA_ENGINEERING,
    FAMILY_DATA_SCIENCE,
    FAMILY_LEADERSHIP,
    FAMILY_ML_ENGINEERING,
    FAMILY_OTHER,
    FAMILY_PRODUCT,
    GENERIC_EVIDENCE_SMOOTHING,
    GENERIC_TITLES,
    KNOWN_JOB_TITLES,
    MATCH_EXACT,
    MATCH_FAMILY_RULE,
    MATCH_KINDS,
    MATCH_NORMALISED,
    MATCH_UNKNOWN,
    OUT_OF_FIELD_RULE_WEIGHT,
    TITLE_FAMILY,
    UNKNOWN_TREATED_AS,
    TitleMatch,
    job_family,
    match_title,
    normalise_title,
    region,
    title_key,
)


def test_every_dataset_title_matches_itself_exactly():
    for title in KNOWN_JOB_TITLES:
        # when
        match = match_title(f"  {title.upper()} ")
        # then
        assert (match.kind, match.treated_as, match.family) == (
            MATCH_EXACT,
            title,
            TITLE_FAMILY[title],
        )
        assert match.weight == 1.0


@pytest.mark.parametrize(
    ("typed", "treated_as"),
    [
        ("Sr. Data Scientist", "Data Scientist"),
        ("Jr. Data Analyst", "Data Analyst"),
        ("Sr. ML Eng.", "Machine Learning Engineer"),
        ("machine-learning engineer", "Machine Learning Engineer"),
        ("Head of ML", "Head of Machine Learning"),
        ("Staff ML Engineer", "Staff Machine Learning Engineer"),
        ("Principal AI Engineer", "AI Engineer"),
        ("DS", "Data Science"),
        ("BI Dev", "Business Intelligence Developer"),
        ("business intelligence analyst.", "Business Intelligence Analyst"),
        ("Data Engineer II", "Data Engineer"),
        ("MLOps Eng", "MLOps Engineer"),
    ],
)
def test_normaliser_reads_variants_as_dataset_titles(typed, treated_as):
    # when
    match = match_title(typed)
    # then
    assert (match.kind, match.treated_as) == (MATCH_NORMALISED, treated_as)
    assert match.family == TITLE_FAMILY[treated_as]
    assert treated_as in match.evidence


def test_normaliser_handles_case_punctuation_abbreviations_and_seniority():
    assert normalise_title("Sr. ML Eng.") == "senior machine learning engineer"
    assert normalise_title("Sr. ML Eng.", drop_seniority=True) == "machine learning engineer"
    assert normalise_title("R&D  Mgr!") == "r and d manager"


@pytest.mark.parametrize(
    ("typed", "family"),
    [
        ("Software Engineer", FAMILY_ML_ENGINEERING),
        ("Engineer", FAMILY_DATA_ENGINEERING),
        ("Manager", FAMILY_LEADERSHIP),
        ("Analyst", FAMILY_DATA_ANALYSIS),
        ("Product Manager", FAMILY_PRODUCT),
        ("Consultant", FAMILY_DATA_SCIENCE),
        ("Architect", FAMILY_DATA_ARCHITECTURE),
        ("Director", FAMILY_LEADERSHIP),
        ("Senior Software Engineer II", FAMILY_ML_ENGINEERING),
        ("Developer", FAMILY_BUSINESS_INTELLIGENCE),
    ],
)
def test_generic_titles_map_to_a_family_with_evidence_and_the_weight_it_backs(typed, family):
    # when
    match = match_title(typed)
    # then
    assert (match.kind, match.treated_as, match.family) == (MATCH_FAMILY_RULE, family, family)
    assert "rows whose title has" in match.evidence
    assert 0.0 < match.weight < 1.0


def test_a_generic_title_keeps_its_family_share_shrunk_by_how_few_rows_back_it():
    # given: 25 of 36 rows, 286 of 309, 40 of 40
    software, architect, director = (
        GENERIC_TITLES[t] for t in ("software engineer", "architect", "director")
    )
    # then
    assert software.weight == pytest.approx(25 / (36 + GENERIC_EVIDENCE_SMOOTHING))
    assert match_title("Software Engineer").weight == software.weight
    assert architect.weight > director.weight > software.weight
    assert director.weight < 1.0  # 40 rows are few, even if all of them agree
    assert director.evidence == (
        "generic title: all 40 rows whose title has 'director' are Data Leadership"
    )


@pytest.mark.parametrize(
    ("typed", "family", "weight"),
    [
        ("Senior LLM Engineer", FAMILY_ML_ENGINEERING, 1.0),
        ("VP of Data", FAMILY_LEADERSHIP, 1.0),
        ("Senior Data Scientist at Spotify", FAMILY_DATA_SCIENCE, 1.0),
        ("Marketing Analyst", FAMILY_DATA_ANALYSIS, 1.0),
        ("Head of Marketing", FAMILY_LEADERSHIP, OUT_OF_FIELD_RULE_WEIGHT),
    ],
)
def test_keyword_rules_for_titles_outside_the_data(typed, family, weight):
    # when
    match = match_title(typed)
    # then
    assert (match.kind, match.family, match.weight) == (MATCH_FAMILY_RULE, family, weight)
    assert "keyword" in match.evidence


@pytest.mark.parametrize(
    "typed",
    [
        "Chief Vibes Officer",
        "Chief Llama Whisperer",
        "<script>alert(1)</script>",
        "Senior Llama Herder",
        "Barista",
        "xyz",
        "Data Wizard",
        "?",
        "",
    ],
)
def test_nonsense_titles_are_unknown_and_carry_no_family(typed):
    # when
    match = match_title(typed)
    # then
    assert match == TitleMatch(MATCH_UNKNOWN, UNKNOWN_TREATED_AS, FAMILY_OTHER, match.evidence, 0.0)
    assert job_family(typed) == FAMILY_OTHER
    assert not match.recognised


def test_unknown_evidence_names_the_words_it_did_not_know():
    assert "'vibes'" in match_title("Chief Vibes Officer").evidence


def test_match_kinds_and_as_dict():
    match = match_title("Sr. Data Scientist")
    assert match.kind in MATCH_KINDS
    assert match.as_dict() == {
        "kind": MATCH_NORMALISED,
        "treated_as": "Data Scientist",
        "family": FAMILY_DATA_SCIENCE,
        "evidence": match.evidence,
    }


def test_title_key_is_the_dataset_title_a_variant_was_read_as():
    assert title_key("Sr. Data Scientist") == title_key("data scientist") == "data scientist"
    assert title_key("Chief Vibes Officer") == "chief vibes officer"


def test_kosovo_is_in_europe():
    assert region("XK") == "Europe"
