"""Users and the API tokens they issue to themselves."""

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The portal's user; a custom model from day one so it can grow without a migration dance."""

    email = models.EmailField("email address", unique=True, null=True, blank=True)

    def save(self, *args, **kwargs) -> None:
        # Django's user manager and forms turn a missing address into "", but only NULL is
        # exempt from the unique constraint: store "no address" as NULL whatever the path.
        if not self.email:
            self.email = None
        super().save(*args, **kwargs)


def hash_token_key(key: str) -> str:
    """Only a digest is stored, so a database leak does not leak usable tokens."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A named API token; the secret is shown once at creation and stored as a sha256 digest."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
