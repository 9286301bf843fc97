"""Users' feedback on their predictions: their real salary and a rating."""

from django.conf import settings
from django.db import models

MAX_COMMENT_LENGTH = 2000


class Rating(models.TextChoices):
    TOO_LOW = "too_low", "Too low"
    ABOUT_RIGHT = "about_right", "About right"
    TOO_HIGH = "too_high", "Too high"


class Feedback(models.Model):
    """One feedback per prediction, editable by its owner."""

    prediction = models.OneToOneField(
        "predictions.Prediction", on_delete=models.CASCADE, related_name="feedback"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback"
    )
    actual_salary_usd = models.PositiveIntegerField(null=True, blank=True)
    rating = models.CharField(max_length=16, choices=Rating.choices)
    comment = models.TextField(max_length=MAX_COMMENT_LENGTH, blank=True)
    training_record = models.OneToOneField(
        "mlmodel.SalaryRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
        help_text="The training row this feedback became (actual salary given).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-updated_at", "-id"], name="feedback_user_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"feedback on #{self.prediction_id}: {self.rating}"
