"""HTML forms: the predict form, the history filter and the batch upload."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings

from mlmodel.core.profile import (
    COMPANY_SIZES,
    COUNTRIES,
    EMPLOYMENT_TYPES,
    EXPERIENCE_LEVELS,
    MAX_JOB_TITLE_LENGTH,
    MIN_WORK_YEAR,
    PROFILE_FIELDS,
    REMOTE_RATIOS,
    ProfileError,
    SalaryProfile,
    max_work_year,
    parse_profile,
)
from mlmodel.core.taxonomy import KNOWN_JOB_TITLES

JOB_TITLE_DATALIST_ID = "job-titles"
DEFAULT_COUNTRY = "US"
DEFAULT_EXPERIENCE_LEVEL = "MI"
DEFAULT_EMPLOYMENT_TYPE = "FT"
DEFAULT_COMPANY_SIZE = "M"
DEFAULT_REMOTE_RATIO = 0
# The history filter refuses ranges that cannot contain a prediction (typos like 0224).
EARLIEST_HISTORY_DATE = datetime.date(2000, 1, 1)
COUNTRY_CHOICES = [("", "Choose a country…"), *COUNTRIES.items()]


def _remote_choices() -> list[tuple[int, str]]:
    return [(ratio, f"{label} ({ratio}% remote)") for ratio, label in REMOTE_RATIOS.items()]


class PredictionForm(forms.Form):
    """The eight profile fields; ``clean`` runs the one shared validator, parse_profile."""

    job_title = forms.CharField(
        max_length=MAX_JOB_TITLE_LENGTH,
        help_text="Pick a known title or type your own; we map it to a job family.",
        widget=forms.TextInput(
            attrs={
                "list": JOB_TITLE_DATALIST_ID,
                "autocomplete": "off",
                "placeholder": "e.g. Data Scientist",
            }
        ),
    )
    experience_level = forms.ChoiceField(
        choices=list(EXPERIENCE_LEVELS.items()), initial=DEFAULT_EXPERIENCE_LEVEL
    )
    employment_type = forms.ChoiceField(
        choices=list(EMPLOYMENT_TYPES.items()), initial=DEFAULT_EMPLOYMENT_TYPE
    )
    company_location = forms.ChoiceField(
        label="Company location", choices=COUNTRY_CHOICES, initial=DEFAULT_COUNTRY
    )
    employee_residence = forms.ChoiceField(
        label="Where you live", choices=COUNTRY_CHOICES, initial=DEFAULT_COUNTRY
    )
    remote_ratio = forms.TypedChoiceField(
        label="Remote work", choices=_remote_choices, coerce=int, initial=DEFAULT_REMOTE_RATIO
    )
    company_size = forms.ChoiceField(
        choices=list(COMPANY_SIZES.items()), initial=DEFAULT_COMPANY_SIZE
    )
    # The range check is parse_profile's; the widget bounds only help the browser.
    work_year = forms.IntegerField(label="Work year")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        year_field = self.fields["work_year"]
        year_field.initial = datetime.date.today().year
        year_field.widget.attrs.update({"min": MIN_WORK_YEAR, "max": max_work_year()})
        self.profile: SalaryProfile | None = None

    def clean(self):
        cleaned = super().clean()
        if any(name in self.errors for name in PROFILE_FIELDS):
            return cleaned
        try:
            self.profile = parse_profile({name: cleaned.get(name) for name in PROFILE_FIELDS})
        except ProfileError as exc:
            for name, messages in exc.errors.items():
                self.add_error(name if name in self.fields else None, messages)
        return cleaned

    @property
    def known_job_titles(self) -> list[str]:
        return KNOWN_JOB_TITLES


class DateRangeForm(forms.Form):
    """``date_from`` / ``date_to`` (inclusive); both optional, validated as a range."""

    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def _check_bounds(self, name: str) -> None:
        day = self.cleaned_data.get(name)
        if day is None:
            return
        latest = datetime.date.today() + datetime.timedelta(days=1)
        if not EARLIEST_HISTORY_DATE <= day <= latest:
            self.add_error(
                name,
                f"Choose a date between {EARLIEST_HISTORY_DATE.isoformat()} and "
                f"{latest.isoformat()}.",
            )

    def clean(self):
        cleaned = super().clean()
        self._check_bounds("date_from")
        self._check_bounds("date_to")
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date must be on or after the start date.")
        return cleaned


class BatchUploadForm(forms.Form):
    TOO_LARGE = "too_large"

    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.BATCH_UPLOAD_MAX_BYTES:
            limit_mb = settings.BATCH_UPLOAD_MAX_BYTES / (1024 * 1024)
            raise forms.ValidationError(
                f"The file is larger than {limit_mb:g} MB; split it into smaller files.",
                code=self.TOO_LARGE,
            )
        return upload
