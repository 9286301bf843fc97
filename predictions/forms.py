"""HTML forms: the predict form, the history filter and the batch upload.

The forms render the fields and read what was submitted; the rules themselves are the shared
ones (``parse_profile``, ``predictions.rules``), run in ``clean`` on every field at once. So the
page shows the same messages, for the same input, as the API and a batch file.
"""

from __future__ import annotations

import datetime

from django import forms

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
from portal.exceptions import InvalidInput, PayloadTooLarge
from portal.submissions import submission_field
from predictions import rules
from predictions.models import Channel

JOB_TITLE_DATALIST_ID = "job-titles"
DEFAULT_COUNTRY = "US"
DEFAULT_EXPERIENCE_LEVEL = "MI"
DEFAULT_EMPLOYMENT_TYPE = "FT"
DEFAULT_COMPANY_SIZE = "M"
DEFAULT_REMOTE_RATIO = 0
COUNTRY_CHOICES = [("", "Choose a country…"), *COUNTRIES.items()]


class RuleChecked:
    """A form field that renders as usual and hands the submitted value on unchecked.

    Django's own checks (choices, lengths, number parsing) would answer in their own words and
    stop at the first problem; the form's ``clean`` runs the shared rule instead.
    """

    def clean(self, value):
        return value


class RuleCheckedCharField(RuleChecked, forms.CharField):
    pass


class RuleCheckedChoiceField(RuleChecked, forms.ChoiceField):
    pass


class RuleCheckedIntegerField(RuleChecked, forms.IntegerField):
    pass


class RuleCheckedDateField(RuleChecked, forms.DateField):
    pass


def add_rule_errors(form: forms.Form, errors: dict[str, list[str]]) -> None:
    """Each message next to its field; anything else (``__all__``) above the form."""
    for name, messages in errors.items():
        form.add_error(name if name in form.fields else None, messages)


def _remote_choices() -> list[tuple[int, str]]:
    return [(ratio, f"{label} ({ratio}% remote)") for ratio, label in REMOTE_RATIOS.items()]


class PredictionForm(forms.Form):
    """The eight profile fields; ``clean`` runs the one shared validator, parse_profile.
    ``submission`` is the form's one-time id: sent twice, it answers with one prediction."""

    submission = submission_field()

    job_title = RuleCheckedCharField(
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
    experience_level = RuleCheckedChoiceField(
        choices=list(EXPERIENCE_LEVELS.items()), initial=DEFAULT_EXPERIENCE_LEVEL
    )
    employment_type = RuleCheckedChoiceField(
        choices=list(EMPLOYMENT_TYPES.items()), initial=DEFAULT_EMPLOYMENT_TYPE
    )
    company_location = RuleCheckedChoiceField(
        label="Company location", choices=COUNTRY_CHOICES, initial=DEFAULT_COUNTRY
    )
    employee_residence = RuleCheckedChoiceField(
        label="Where you live", choices=COUNTRY_CHOICES, initial=DEFAULT_COUNTRY
    )
    remote_ratio = RuleCheckedChoiceField(
        label="Remote work", choices=_remote_choices, initial=DEFAULT_REMOTE_RATIO
    )
    company_size = RuleCheckedChoiceField(
        choices=list(COMPANY_SIZES.items()), initial=DEFAULT_COMPANY_SIZE
    )
    # The range check is parse_profile's; the widget bounds only help the browser.
    work_year = RuleCheckedIntegerField(label="Work year")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        year_field = self.fields["work_year"]
        year_field.initial = datetime.date.today().year
        year_field.widget.attrs.update({"min": MIN_WORK_YEAR, "max": max_work_year()})
        self.profile: SalaryProfile | None = None

    def clean(self):
        cleaned = super().clean()
        try:
            self.profile = parse_profile({name: cleaned.get(name) for name in PROFILE_FIELDS})
        except ProfileError as exc:
            add_rule_errors(self, exc.errors)
        return cleaned

    @property
    def known_job_titles(self) -> list[str]:
        return KNOWN_JOB_TITLES


class DateRangeForm(forms.Form):
    """``date_from`` / ``date_to`` (inclusive); both optional, checked by the shared rule."""

    date_from = RuleCheckedDateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = RuleCheckedDateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.update(
                {
                    "min": rules.EARLIEST_HISTORY_DATE.isoformat(),
                    "max": rules.LATEST_HISTORY_DATE.isoformat(),
                }
            )

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["date_from"], cleaned["date_to"] = rules.history_date_range(
                date_from=cleaned.get("date_from"), date_to=cleaned.get("date_to")
            )
        except InvalidInput as exc:
            add_rule_errors(self, exc.errors)
        return cleaned


HISTORY_CHANNEL_CHOICES = [("", "Form and API"), *Channel.choices]


class HistoryFilterForm(DateRangeForm):
    """The history page's filter: the date range and where the estimate was asked for."""

    channel = forms.ChoiceField(label="Made on", required=False, choices=HISTORY_CHANNEL_CHOICES)


class BatchUploadForm(forms.Form):
    """A CSV file, and the form's one-time id: sent twice, one job."""

    TOO_LARGE = "too_large"

    submission = submission_field()

    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            rules.batch_upload_size_check(size=upload.size)
        except PayloadTooLarge as exc:
            raise forms.ValidationError(
                [
                    forms.ValidationError(message, code=self.TOO_LARGE)
                    for messages in exc.errors.values()
                    for message in messages
                ]
            ) from None
        return upload
