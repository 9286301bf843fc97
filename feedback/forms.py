"""The feedback box shown under a prediction."""

from django import forms

from feedback.models import MAX_COMMENT_LENGTH, Feedback, Rating
from feedback.rules import feedback_fields
from portal.exceptions import InvalidInput
from predictions.forms import (
    RuleCheckedCharField,
    RuleCheckedChoiceField,
    RuleCheckedIntegerField,
    add_rule_errors,
)


class FeedbackForm(forms.Form):
    """Renders the box; ``clean`` runs ``feedback.rules.feedback_fields`` like the API does."""

    rating = RuleCheckedChoiceField(
        label="How does the estimate compare with reality?",
        choices=Rating.choices,
        widget=forms.RadioSelect,
    )
    actual_salary_usd = RuleCheckedIntegerField(
        label="Your actual yearly salary (USD, optional)",
        required=False,
        help_text="If you share it, it may help train the next model (reviewed if unusual).",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "e.g. 145000"}),
    )
    comment = RuleCheckedCharField(
        label="Comment (optional)",
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        cleaned = super().clean()
        try:
            fields = feedback_fields(
                rating=cleaned.get("rating"),
                actual_salary_usd=cleaned.get("actual_salary_usd"),
                comment=cleaned.get("comment") or "",
                strict_types=False,
            )
        except InvalidInput as exc:
            add_rule_errors(self, exc.errors)
        else:
            cleaned.update(
                rating=fields.rating,
                actual_salary_usd=fields.actual_salary_usd,
                comment=fields.comment,
            )
        return cleaned

    @classmethod
    def for_feedback(cls, feedback: Feedback | None) -> "FeedbackForm":
        """An unbound form pre-filled with what the user said last time."""
        if feedback is None:
            return cls()
        return cls(
            initial={
                "rating": feedback.rating,
                "actual_salary_usd": feedback.actual_salary_usd,
                "comment": feedback.comment,
            }
        )
