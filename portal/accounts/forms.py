"""HTML forms for the account pages: shape checks only; business rules live in services."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.validators import UnicodeUsernameValidator

from portal.accounts.models import User
from portal.accounts.services import TOKEN_NAME_MAX_LENGTH
from portal.submissions import submission_field

USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=USERNAME_MAX_LENGTH,
        validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(
        required=False,
        label="E-mail (optional)",
        help_text="Only used to reset a forgotten password.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not entirely numeric, not a common password.",
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    # Service error keys → the form field the message belongs next to.
    SERVICE_FIELD_MAP = {"username": "username", "email": "email", "password": "password2"}

    def clean(self) -> dict:
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords do not match.")
        return cleaned

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for key, messages in errors.items():
            field = self.SERVICE_FIELD_MAP.get(key)
            for message in messages:
                self.add_error(field, message)


class LoginForm(AuthenticationForm):
    """Django's login form with autocomplete hints for password managers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs["autocomplete"] = "username"


class ApiTokenCreateForm(forms.Form):
    """The name goes to ``api_token_create`` as typed: its rule (and message) is the API's too.

    ``submission`` is a one-time id rendered with the form: a reload of the page that showed a
    new secret re-sends the same id, and the service refuses to create a second token for it.
    """

    submission = submission_field()

    name = forms.CharField(
        required=False,
        strip=False,
        label="Token name",
        help_text="What will use it, e.g. “nightly payroll script”.",
        widget=forms.TextInput(attrs={"maxlength": TOKEN_NAME_MAX_LENGTH, "required": True}),
    )

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for key, messages in errors.items():
            for message in messages:
                self.add_error("name" if key == "name" else None, message)
