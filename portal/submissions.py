"""A form's one-time submission id: a resubmitted form (a reload of its answer, Back and send
again, a double click) must never create a second object.

The id is rendered, hidden, with each fresh form and sent back with it. Whatever the form
creates records it (a unique column, or a claim in the cache where nothing is stored), so the
second arrival of the same id finds the first object instead of creating another. A stored
key is the id *and what was sent* (``submission_key``): the same page sent again with other
values (Back, change a field, send) is a new request, not a repeat.
"""

import hashlib
import uuid

from django import forms
from django.db import models

SUBMISSION_ID_LENGTH = 32  # uuid4().hex
SUBMISSION_ID_PATTERN = rf"^[0-9a-f]{{{SUBMISSION_ID_LENGTH}}}$"
INVALID_SUBMISSION_MESSAGE = "This form is out of date: please reload the page and send it again."


def new_submission_id() -> str:
    return uuid.uuid4().hex


def submission_field() -> forms.RegexField:
    """The hidden field: a fresh id in every new form; a bound form keeps the id it was sent."""
    return forms.RegexField(
        regex=SUBMISSION_ID_PATTERN,
        widget=forms.HiddenInput,
        initial=new_submission_id,
        required=False,
        error_messages={"invalid": INVALID_SUBMISSION_MESSAGE},
    )


def submission_key(submission: str, content: bytes) -> str:
    """What a form that creates from ``content`` stores: one key per (id, content); ``""``
    (no key, nothing to deduplicate) for a form without an id, from a page older than ids."""
    if not submission:
        return ""
    digest = hashlib.sha256(f"{submission}:".encode() + content).hexdigest()
    return digest[:SUBMISSION_ID_LENGTH]


def stored_submission_field(help_text: str) -> models.CharField:
    """The model column holding ``submission_key`` (``""``: created without a form id)."""
    return models.CharField(
        max_length=SUBMISSION_ID_LENGTH, blank=True, default="", help_text=help_text
    )


def one_per_submission(name: str) -> models.UniqueConstraint:
    """One object per (user, stored key); rows without a key are not constrained."""
    return models.UniqueConstraint(
        fields=["user", "submission"], condition=~models.Q(submission=""), name=name
    )
