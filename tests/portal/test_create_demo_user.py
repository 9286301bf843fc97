"""The create_demo_user management command."""

import io

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

FIRST_PASSWORD = "demo-password-number-one"
SECOND_PASSWORD = "demo-password-number-two"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_demo_user", *args, stdout=out)
    return out.getvalue()


def test_creates_then_updates_the_same_user(django_user_model):
    # when run twice
    first = _run("--password", FIRST_PASSWORD, "--email", "demo@example.com", "--staff")
    second = _run("--password", SECOND_PASSWORD)

    # then one user exists, with the latest password and its flags kept
    assert "Created staff 'demo'" in first
    assert "Updated the password of existing staff 'demo'" in second
    demo = django_user_model.objects.get()
    assert demo.username == "demo"
    assert demo.email == "demo@example.com"
    assert demo.is_staff
    assert demo.check_password(SECOND_PASSWORD)


def test_password_from_the_environment(django_user_model, monkeypatch):
    # given
    monkeypatch.setenv("DEMO_USER_PASSWORD", FIRST_PASSWORD)

    # when
    _run("--username", "showcase")

    # then
    assert django_user_model.objects.get(username="showcase").check_password(FIRST_PASSWORD)


def test_no_password_is_a_clear_error(monkeypatch, django_user_model):
    monkeypatch.delenv("DEMO_USER_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="DEMO_USER_PASSWORD"):
        _run()
    assert not django_user_model.objects.exists()
