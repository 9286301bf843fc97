"""The feedback box shown under a prediction."""

from django import forms

from feedback.models import MAX_COMMENT_LENGTH, Feedback, Rating


class FeedbackForm(forms.Form):
    """Typing only; the plausibility rules live in ``feedback_upsert``."""

    rating = forms.ChoiceField(
        label="How does the estimate compare with reality?",
        choices=Rating.choices,
        widget=forms.RadioSelect,
    )
    actual_salary_usd = forms.IntegerField(
        label="Your actual yearly salary (USD, optional)",
        required=False,
        help_text="If you share it, it may help train the next model (reviewed if unusual).",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "e.g. 145000"}),
    )
    comment = forms.CharField(
        label="Comment (optional)",
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

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
