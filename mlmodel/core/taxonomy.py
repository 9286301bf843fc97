"""The portal's vocabulary of jobs and places: job families, seniority in titles, regions.

Hand-made from what a job does (not from its salary), so it is a stable prior for rare and
unseen titles. The form's title suggestions, the model's features and the history filters all
read it from here. Pure Python: no Django, no training stack.
"""

from __future__ import annotations

import functools
import re

US_CODE = "US"
# Titles are free text: bounded memo of the regex work for the titles people actually type.
JOB_FAMILY_CACHE_SIZE = 4096

# --------------------------------------------------------------------------------------------
# Job families
# --------------------------------------------------------------------------------------------
FAMILY_DATA_ANALYSIS = "Data Analysis"
FAMILY_BUSINESS_INTELLIGENCE = "Business Intelligence"
FAMILY_DATA_OPERATIONS = "Data Operations & Management"
FAMILY_DATA_ENGINEERING = "Data Engineering"
FAMILY_ANALYTICS_ENGINEERING = "Analytics Engineering"
FAMILY_DATA_ARCHITECTURE = "Data Architecture"
FAMILY_DATA_SCIENCE = "Data Science"
FAMILY_ML_ENGINEERING = "Machine Learning Engineering"
FAMILY_RESEARCH = "Research Science"
FAMILY_ROBOTICS = "Robotics & Autonomy"
FAMILY_LEADERSHIP = "Data Leadership"
FAMILY_PRODUCT = "Data Product"
FAMILY_OTHER = "Other"

# Explicit family of every job title seen in the salaries dataset (155 titles). Curated by hand
# from what the job does, not from its salary, so it is a stable prior for rare titles.
_FAMILY_TITLES: dict[str, tuple[str, ...]] = {
    FAMILY_DATA_ANALYSIS: (
        "Admin & Data Analyst",
        "Business Data Analyst",
        "CRM Data Analyst",
        "Compliance Data Analyst",
        "Data Analyst",
        "Data Analyst Lead",
        "Data Analytics Associate",
        "Data Analytics Consultant",
        "Data Analytics Specialist",
        "Data Reporting Analyst",
        "Data Science Analyst",
        "Data Visualization Analyst",
        "Data Visualization Specialist",
        "Finance Data Analyst",
        "Financial Data Analyst",
        "Insight Analyst",
        "Lead Data Analyst",
        "Marketing Data Analyst",
        "Principal Data Analyst",
        "Product Data Analyst",
        "Quantitative Research Analyst",
        "Research Analyst",
        "Sales Data Analyst",
        "Staff Data Analyst",
    ),
    FAMILY_BUSINESS_INTELLIGENCE: (
        "BI Analyst",
        "BI Data Analyst",
        "BI Data Engineer",
        "BI Developer",
        "Business Intelligence",
        "Business Intelligence Analyst",
        "Business Intelligence Data Analyst",
        "Business Intelligence Developer",
        "Business Intelligence Engineer",
        "Business Intelligence Lead",
        "Business Intelligence Specialist",
        "Power BI Developer",
    ),
    FAMILY_DATA_OPERATIONS: (
        "Data Integration Specialist",
        "Data Management Analyst",
        "Data Management Consultant",
        "Data Management Specialist",
        "Data Operations Analyst",
        "Data Operations Associate",
        "Data Operations Specialist",
        "Data Quality Analyst",
        "Data Specialist",
        "Encounter Data Management Professional",
    ),
    FAMILY_DATA_ENGINEERING: (
        "Azure Data Engineer",
        "Big Data Developer",
        "Big Data Engineer",
        "Cloud Data Engineer",
        "Cloud Database Engineer",
        "Consultant Data Engineer",
        "Data Analytics Engineer",
        "Data Developer",
        "Data DevOps Engineer",
        "Data Engineer",
        "Data Infrastructure Engineer",
        "Data Integration Developer",
        "Data Integration Engineer",
        "Data Operations Engineer",
        "Data Pipeline Engineer",
        "Data Quality Engineer",
        "Data Visualization Engineer",
        "ETL Developer",
        "ETL Engineer",
        "Lead Data Engineer",
        "Marketing Data Engineer",
        "Principal Data Engineer",
        "Software Data Engineer",
    ),
    FAMILY_ANALYTICS_ENGINEERING: ("Analytics Engineer",),
    FAMILY_DATA_ARCHITECTURE: (
        "AWS Data Architect",
        "Big Data Architect",
        "Cloud Data Architect",
        "Data Architect",
        "Data Modeler",
        "Data Modeller",
        "Principal Data Architect",
    ),
    FAMILY_DATA_SCIENCE: (
        "Applied Data Scientist",
        "Computational Biologist",
        "Data Science",
        "Data Science Consultant",
        "Data Science Engineer",
        "Data Science Lead",
        "Data Science Practitioner",
        "Data Science Tech Lead",
        "Data Scientist",
        "Data Scientist Lead",
        "Data Strategist",
        "Decision Scientist",
        "Lead Data Scientist",
        "Marketing Data Scientist",
        "Principal Data Scientist",
        "Staff Data Scientist",
    ),
    FAMILY_ML_ENGINEERING: (
        "AI Architect",
        "AI Developer",
        "AI Engineer",
        "AI Programmer",
        "AI Software Engineer",
        "Applied Machine Learning Engineer",
        "Computer Vision Engineer",
        "Computer Vision Software Engineer",
        "Deep Learning Engineer",
        "Lead Machine Learning Engineer",
        "ML Engineer",
        "ML Ops Engineer",
        "MLOps Engineer",
        "Machine Learning Developer",
        "Machine Learning Engineer",
        "Machine Learning Infrastructure Engineer",
        "Machine Learning Modeler",
        "Machine Learning Operations Engineer",
        "Machine Learning Software Engineer",
        "Machine Learning Specialist",
        "NLP Engineer",
        "Principal Machine Learning Engineer",
        "Prompt Engineer",
        "Staff Machine Learning Engineer",
    ),
    FAMILY_RESEARCH: (
        "AI Research Engineer",
        "AI Research Scientist",
        "AI Scientist",
        "Applied Machine Learning Scientist",
        "Applied Research Scientist",
        "Applied Scientist",
        "Deep Learning Researcher",
        "Machine Learning Research Engineer",
        "Machine Learning Researcher",
        "Machine Learning Scientist",
        "Research Engineer",
        "Research Scientist",
    ),
    FAMILY_ROBOTICS: (
        "Autonomous Vehicle Technician",
        "Bear Robotics",
        "Robotics Engineer",
        "Robotics Software Engineer",
    ),
    FAMILY_LEADERSHIP: (
        "Analytics Engineering Manager",
        "Business Intelligence Manager",
        "Data Analytics Lead",
        "Data Analytics Manager",
        "Data Lead",
        "Data Manager",
        "Data Operations Manager",
        "Data Quality Manager",
        "Data Science Director",
        "Data Science Manager",
        "Data Strategy Manager",
        "Director of Business Intelligence",
        "Director of Data Science",
        "Head of Data",
        "Head of Data Science",
        "Head of Machine Learning",
        "Machine Learning Manager",
        "Manager Data Management",
        "Managing Director Data Science",
    ),
    FAMILY_PRODUCT: ("AI Product Manager", "Data Product Manager", "Data Product Owner"),
}

JOB_FAMILIES: tuple[str, ...] = (*_FAMILY_TITLES, FAMILY_OTHER)
TITLE_FAMILY: dict[str, str] = {
    title: family for family, titles in _FAMILY_TITLES.items() for title in titles
}
KNOWN_JOB_TITLES: list[str] = sorted(TITLE_FAMILY, key=str.casefold)
_TITLE_FAMILY_FOLDED: dict[str, str] = {t.casefold(): f for t, f in TITLE_FAMILY.items()}

# Keyword rules for titles never seen in the data, tried in order: the first match wins.
# Leadership and product come first because "Head of ML" is a manager before an ML engineer.
_FAMILY_KEYWORD_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), family)
    for pattern, family in (
        (r"\bproduct (manager|owner|lead)\b", FAMILY_PRODUCT),
        (r"\b(head|director|manager|chief|vp|vice president|cdo|cto)\b", FAMILY_LEADERSHIP),
        (r"\barchitect|\bmodell?er\b", FAMILY_DATA_ARCHITECTURE),
        (r"\banalytics engineer", FAMILY_ANALYTICS_ENGINEERING),
        (r"\b(bi|business intelligence|power bi|tableau|looker)\b", FAMILY_BUSINESS_INTELLIGENCE),
        (r"\brobot|\bautonomous\b", FAMILY_ROBOTICS),
        (
            r"\bresearch(er)?\b.*\b(scien|engineer)|\bresearcher\b|\bapplied scientist|"
            r"\b(ai|ml|machine learning|deep learning) scientist",
            FAMILY_RESEARCH,
        ),
        (
            r"\b(machine learning|ml|mlops|ai|artificial intelligence|deep learning|nlp|llm|"
            r"computer vision|prompt|genai|generative)\b",
            FAMILY_ML_ENGINEERING,
        ),
        (r"\bdata scien|\bscientist\b|\bstatistician\b", FAMILY_DATA_SCIENCE),
        (r"\b(etl|pipeline|big data|data platform|database)\b", FAMILY_DATA_ENGINEERING),
        (r"\bdata( \w+)? (engineer|developer)\b", FAMILY_DATA_ENGINEERING),
        (
            r"\bdata (quality|management|operations|governance|integration|steward)|"
            r"\bdata specialist\b",
            FAMILY_DATA_OPERATIONS,
        ),
        (r"\b(analyst|analytics|insights?|reporting|visuali[sz]ation)\b", FAMILY_DATA_ANALYSIS),
        (r"\b(engineer|developer|programmer)\b", FAMILY_DATA_ENGINEERING),
    )
)

# Seniority written into the title itself, on top of the experience level field.
TITLE_RANK_NONE = 0
_TITLE_RANK_RULES: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), rank)
    for pattern, rank in (
        (r"\b(chief|vp|vice president|managing director|director)\b", 5),
        (r"\bhead\b", 4),
        (r"\bmanager\b", 3),
        (r"\b(principal|staff)\b", 2),
        (r"\b(lead|senior|sr\.?)\b", 1),
    )
)

_WHITESPACE = re.compile(r"\s+")


def fold_title(title: str) -> str:
    """The comparison key of a title: whitespace collapsed, case folded."""
    return _WHITESPACE.sub(" ", title).strip().casefold()


@functools.lru_cache(maxsize=JOB_FAMILY_CACHE_SIZE)
def job_family(title: str) -> str:
    """Family of a job title: explicit table for known titles, keyword rules, else "Other"."""
    folded = fold_title(title)
    known = _TITLE_FAMILY_FOLDED.get(folded)
    if known is not None:
        return known
    for pattern, family in _FAMILY_KEYWORD_RULES:
        if pattern.search(folded):
            return family
    return FAMILY_OTHER


def title_rank(title: str) -> int:
    """0 = no seniority word in the title, up to 5 = director/chief."""
    for pattern, rank in _TITLE_RANK_RULES:
        if pattern.search(title):
            return rank
    return TITLE_RANK_NONE


# --------------------------------------------------------------------------------------------
# Regions
# --------------------------------------------------------------------------------------------
REGION_NORTH_AMERICA = "North America"
REGION_SOUTH_AMERICA = "South America"
REGION_EUROPE = "Europe"
REGION_ASIA = "Asia"
REGION_AFRICA = "Africa"
REGION_OCEANIA = "Oceania"
REGION_ANTARCTICA = "Antarctica"
REGION_UNKNOWN = "Unknown"

# Continent of every ISO 3166-1 alpha-2 code pycountry knows (Central America and the
# Caribbean count as North America, as in the original MLPayGrade continent feature).
_REGION_CODES: dict[str, str] = {
    REGION_AFRICA: (
        "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY "
        "MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA "
        "ZM ZW"
    ),
    REGION_ASIA: (
        "AE AF AM AZ BD BH BN BT CC CN CX CY GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ "
        "LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE"
    ),
    REGION_EUROPE: (
        "AD AL AT AX BA BE BG BY CH CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE "
        "LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA"
    ),
    REGION_NORTH_AMERICA: (
        "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS "
        "MX NI PA PM PR SV SX TC TT UM US VC VG VI"
    ),
    REGION_SOUTH_AMERICA: "AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
    REGION_OCEANIA: ("AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV VU WF WS"),
    REGION_ANTARCTICA: "AQ BV GS HM TF",
}
COUNTRY_REGION: dict[str, str] = {
    code: region for region, codes in _REGION_CODES.items() for code in codes.split()
}
REGIONS: tuple[str, ...] = (*_REGION_CODES, REGION_UNKNOWN)


def region(country_code: str) -> str:
    """Continent of an ISO alpha-2 code; "Unknown" for codes outside ISO 3166-1."""
    return COUNTRY_REGION.get(country_code.strip().upper(), REGION_UNKNOWN)
