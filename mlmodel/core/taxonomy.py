"""The portal's vocabulary of jobs and places: job families, seniority in titles, regions.

Hand-made from what a job does (not from its salary), so it is a stable prior for rare and
unseen titles. The form's title suggestions, the model's features and the history filters all
read it from here. Pure Python: no Django, no training stack.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

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


# --------------------------------------------------------------------------------------------
# Title matching: what the model treats a free-text title as
# --------------------------------------------------------------------------------------------
MATCH_EXACT = "exact"
MATCH_NORMALISED = "normalised"
MATCH_FAMILY_RULE = "family_rule"
MATCH_UNKNOWN = "unknown"
MATCH_KINDS: tuple[str, ...] = (MATCH_EXACT, MATCH_NORMALISED, MATCH_FAMILY_RULE, MATCH_UNKNOWN)
# What an unrecognised title is treated as: no title information at all, the overall mean.
UNKNOWN_TREATED_AS = "any job title (overall average)"
# How much of its job-title effect a title mapped by rule keeps (the rest is shrunk to the
# overall mean): all of it for a title that names the field (data, ML, analytics …); for a
# generic title, as much as the data backs its family (``GenericTitle.weight``); half for an
# out-of-field one ("Head of Marketing"), whose family is a guess no row of the data backs.
FIELD_RULE_WEIGHT = 1.0
OUT_OF_FIELD_RULE_WEIGHT = 0.5
# Pseudo-rows of no evidence added to a generic title's row count, as the target statistics'
# smoothing (``DEFAULT_SMOOTHING`` of the feature transformer) does for a title's mean.
GENERIC_EVIDENCE_SMOOTHING = 10

# Abbreviations and synonyms, applied to the lower-cased, punctuation-free title word by word
# (phrases first). Chosen so that variants of the dataset's own titles land on them.
_PHRASE_SYNONYMS: tuple[tuple[str, str], ...] = (
    ("artificial intelligence", "ai"),
    ("ml ops", "mlops"),
    ("machine learning operations", "mlops"),
    ("natural language processing", "nlp"),
    ("vice president", "vp"),
)
_WORD_SYNONYMS: dict[str, str] = {
    "ml": "machine learning",
    "bi": "business intelligence",
    "dl": "deep learning",
    "ds": "data science",
    "de": "data engineer",
    "da": "data analyst",
    "cv": "computer vision",
    "eng": "engineer",
    "engr": "engineer",
    "enginer": "engineer",
    "engineering": "engineer",
    "dev": "developer",
    "mgr": "manager",
    "mngr": "manager",
    "dir": "director",
    "sci": "scientist",
    "scientists": "scientist",
    "engineers": "engineer",
    "analysts": "analyst",
    "modeller": "modeler",
    "visualisation": "visualization",
    "analyse": "analyst",
    "programme": "program",
    "snr": "senior",
    "sr": "senior",
    "jr": "junior",
    "jnr": "junior",
    "&": "and",
}
# Words of level rather than of job: dropped (second try) before looking a title up. The
# model still reads seniority from the title as typed (``title_rank``).
_SENIORITY_WORDS: frozenset[str] = frozenset(
    [
        "senior",
        "junior",
        "lead",
        "principal",
        "staff",
        "mid",
        "entry",
        "level",
        "intern",
        "trainee",
        "graduate",
        "associate",
        "i",
        "ii",
        "iii",
        "iv",
        "v",
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
)
_STOP_WORDS: frozenset[str] = frozenset(
    ["of", "and", "the", "for", "in", "at", "to", "with", "a", "an"]
)
# Words of real jobs outside the data's vocabulary: a title made of them is out of field (its
# family a guess), not nonsense.
_JOB_WORDS: frozenset[str] = frozenset(
    [
        "software",
        "hardware",
        "marketing",
        "sales",
        "finance",
        "financial",
        "hr",
        "human",
        "resources",
        "people",
        "operations",
        "product",
        "project",
        "program",
        "technical",
        "technology",
        "tech",
        "it",
        "cloud",
        "security",
        "systems",
        "system",
        "platform",
        "quantitative",
        "quant",
        "statistician",
        "statistics",
        "consultant",
        "consulting",
        "officer",
        "president",
        "vp",
        "chief",
        "head",
        "director",
        "manager",
        "engineer",
        "developer",
        "programmer",
        "architect",
        "analyst",
        "scientist",
        "researcher",
        "specialist",
        "advisor",
        "adviser",
        "administrator",
        "admin",
        "coordinator",
        "executive",
        "owner",
        "founder",
        "cofounder",
        "partner",
        "professor",
        "lecturer",
        "teacher",
        "student",
        "assistant",
        "backend",
        "frontend",
        "fullstack",
        "full",
        "stack",
        "web",
        "mobile",
        "devops",
        "sre",
        "qa",
        "test",
        "tester",
        "reliability",
        "site",
        "network",
        "infrastructure",
        "solutions",
        "solution",
        "business",
        "strategy",
        "risk",
        "credit",
        "actuary",
        "economist",
        "econometrician",
        "mathematician",
        "physicist",
        "biologist",
        "chemist",
        "bioinformatics",
        "genomics",
        "healthcare",
        "clinical",
        "insurance",
        "banking",
        "supply",
        "chain",
        "logistics",
    ]
)
# The data's own vocabulary of the field: a title with one of these names the field.
_FIELD_WORDS: frozenset[str] = frozenset(
    [
        "data",
        "analytics",
        "analyst",
        "analysis",
        "machine",
        "learning",
        "ai",
        "bi",
        "mlops",
        "nlp",
        "llm",
        "deep",
        "vision",
        "computer",
        "science",
        "scientist",
        "statistician",
        "statistics",
        "quantitative",
        "insight",
        "insights",
        "intelligence",
        "etl",
        "pipeline",
        "database",
        "modeler",
        "robotics",
        "autonomous",
        "research",
        "researcher",
        "genai",
        "generative",
        "prompt",
        "visualization",
        "reporting",
        "tableau",
        "looker",
        "power",
    ]
)
_PHRASE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{phrase}\b"), replacement) for phrase, replacement in _PHRASE_SYNONYMS
)
_PUNCTUATION = re.compile(r"[^\w&+#]+")


@dataclass(frozen=True, slots=True)
class GenericTitle:
    """A generic title the data barely has, and the evidence for its family: of the data's
    distinct rows whose title has ``word``, ``in_family`` belong to ``family``."""

    family: str
    word: str
    in_family: int
    rows: int
    examples: str = ""

    @property
    def weight(self) -> float:
        """Share of the family's rows, shrunk by how few rows there are: 25 of 36 → 0.54,
        286 of 309 → 0.90."""
        return self.in_family / (self.rows + GENERIC_EVIDENCE_SMOOTHING)

    @property
    def evidence(self) -> str:
        share = (
            f"all {self.rows:,} rows"
            if self.in_family == self.rows
            else f"{self.in_family:,} of the {self.rows:,} rows"
        )
        examples = f" ({self.examples})" if self.examples else ""
        return f"generic title: {share} whose title has '{self.word}' are {self.family}{examples}"


# Generic titles the data barely has: the family most of the data's titles with that word
# belong to (distinct 2020–2024 rows of salaries.csv, titles containing the word; a test
# recounts them in the real file).
GENERIC_TITLES: dict[str, GenericTitle] = {
    "engineer": GenericTitle(FAMILY_DATA_ENGINEERING, "engineer", 1953, 4091),
    "software engineer": GenericTitle(
        FAMILY_ML_ENGINEERING, "software", 25, 36, "AI / ML / Computer Vision Software Engineer"
    ),
    "software developer": GenericTitle(FAMILY_ML_ENGINEERING, "software", 25, 36),
    "developer": GenericTitle(
        FAMILY_BUSINESS_INTELLIGENCE, "developer", 114, 194, "BI Developer, Power BI Developer"
    ),
    "manager": GenericTitle(FAMILY_LEADERSHIP, "manager", 294, 327),
    "director": GenericTitle(FAMILY_LEADERSHIP, "director", 40, 40),
    "analyst": GenericTitle(FAMILY_DATA_ANALYSIS, "analyst", 1570, 1860),
    "product manager": GenericTitle(FAMILY_PRODUCT, "product", 41, 47),
    "consultant": GenericTitle(FAMILY_DATA_SCIENCE, "consultant", 51, 63),
    "architect": GenericTitle(FAMILY_DATA_ARCHITECTURE, "architect", 286, 309),
}


@dataclass(frozen=True, slots=True)
class TitleMatch:
    """How a typed title was understood: ``kind`` (one of MATCH_KINDS), ``treated_as`` (the
    dataset title or the family the model used), ``family``, why (``evidence``) and how much
    of the family's effect the title keeps (``weight``: 1 = all, 0 = none, the overall mean).
    """

    kind: str
    treated_as: str
    family: str
    evidence: str
    weight: float

    @property
    def recognised(self) -> bool:
        return self.kind in (MATCH_EXACT, MATCH_NORMALISED)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "treated_as": self.treated_as,
            "family": self.family,
            "evidence": self.evidence,
        }


def _words(text: str) -> list[str]:
    """Lower-cased words of a title with punctuation removed ("Sr." → "sr", "R&D" → "r & d")."""
    spaced = _PUNCTUATION.sub(" ", text.casefold().replace("&", " & "))
    return spaced.split()


def normalise_title(title: str, *, drop_seniority: bool = False) -> str:
    """A title's lookup key: case, punctuation, abbreviations and synonyms (and optionally the
    seniority words) normalised away. "Sr. ML Eng." → "senior machine learning engineer"."""
    text = " ".join(_words(title))
    for phrase, replacement in _PHRASE_PATTERNS:
        text = phrase.sub(replacement, text)
    words: list[str] = []
    for word in text.split():
        words.extend(_WORD_SYNONYMS.get(word, word).split())
    if drop_seniority:
        words = [word for word in words if word not in _SENIORITY_WORDS]
    return " ".join(words)


def _build_normalised_index() -> dict[str, str]:
    """Normalised key → dataset title; a title whose own spelling is the key wins a clash."""
    index: dict[str, str] = {}
    for title in KNOWN_JOB_TITLES:
        key = normalise_title(title)
        current = index.get(key)
        if current is None or (fold_title(title) == key and fold_title(current) != key):
            index[key] = title
    return index


_NORMALISED_TITLES: dict[str, str] = _build_normalised_index()
_KNOWN_WORDS: frozenset[str] = (
    frozenset(word for key in _NORMALISED_TITLES for word in key.split())
    | _JOB_WORDS
    | _FIELD_WORDS
    | _SENIORITY_WORDS
    | _STOP_WORDS
    | frozenset(_WORD_SYNONYMS)
)
_TITLE_BY_FOLD: dict[str, str] = {fold_title(t): t for t in KNOWN_JOB_TITLES}


def _rule_family(text: str) -> tuple[str, str] | None:
    for pattern, family in _FAMILY_KEYWORD_RULES:
        found = pattern.search(text)
        if found:
            return family, found.group(0)
    return None


def _unknown(evidence: str) -> TitleMatch:
    return TitleMatch(MATCH_UNKNOWN, UNKNOWN_TREATED_AS, FAMILY_OTHER, evidence, 0.0)


@functools.lru_cache(maxsize=JOB_FAMILY_CACHE_SIZE)
def match_title(title: str) -> TitleMatch:
    """What the model treats ``title`` as, tried in order: the dataset's title as typed (case
    and spaces aside), the dataset's title after normalising, a generic title or a keyword rule
    mapping it to a family, else unknown (no title information: the overall mean)."""
    folded = fold_title(title)
    known = _TITLE_BY_FOLD.get(folded)
    if known is not None:
        return TitleMatch(MATCH_EXACT, known, TITLE_FAMILY[known], "a title in the data", 1.0)
    key = normalise_title(title)
    bare = normalise_title(title, drop_seniority=True)
    for candidate in (key, bare):
        known = _NORMALISED_TITLES.get(candidate)
        if known is not None:
            return TitleMatch(
                MATCH_NORMALISED,
                known,
                TITLE_FAMILY[known],
                f"read as '{known}', a title in the data",
                1.0,
            )
    words = bare.split()
    if not words:
        return _unknown("no words of a job title")
    generic = GENERIC_TITLES.get(bare)
    if generic is not None:
        family = generic.family
        return TitleMatch(MATCH_FAMILY_RULE, family, family, generic.evidence, generic.weight)
    rule = _rule_family(key)
    unrecognised = [w for w in words if w not in _KNOWN_WORDS]
    field_words = [w for w in words if w in _FIELD_WORDS]
    if rule is None or len(unrecognised) >= max(len(field_words), 1):
        strange = ", ".join(f"'{w}'" for w in unrecognised[:3])
        reason = f"unrecognised words {strange}" if unrecognised else "no rule matches"
        return _unknown(f"not a title the model knows ({reason})")
    family, keyword = rule
    weight = FIELD_RULE_WEIGHT if field_words else OUT_OF_FIELD_RULE_WEIGHT
    scope = "names the field" if field_words else "out of the data's field: effect halved"
    return TitleMatch(
        MATCH_FAMILY_RULE, family, family, f"keyword '{keyword}' → {family} ({scope})", weight
    )


def title_key(title: str) -> str:
    """The key training statistics are kept under: the dataset title a typed title was read as,
    else the typed title itself (folded)."""
    match = match_title(title)
    return fold_title(match.treated_as) if match.recognised else fold_title(title)


def job_family(title: str) -> str:
    """Family of a job title, as :func:`match_title` decides it ("Other" when unknown)."""
    return match_title(title).family


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

# Continent of every ISO 3166-1 alpha-2 code pycountry knows, and XK (Kosovo), accepted as a
# country by the profile (Central America and the
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
        "LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK"
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
