"""Account writes: sign-up and the lifecycle of API tokens."""

import logging
import secrets

from django.contrib.auth import get_user_model, password_validation
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts.models import ApiToken, User, hash_token_key
from portal.exceptions import Conflict, InvalidInput, NotFound

logger = logging.getLogger(__name__)

TOKEN_KEY_PREFIX = "mlp_"  # noqa: S105 - public marker of our keys
TOKEN_RANDOM_BYTES = 32
TOKEN_DISPLAY_PREFIX_LENGTH = 12
TOKEN_NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length
MAX_ACTIVE_TOKENS_PER_USER = 20


def _normalize_email(email: str | None) -> str | None:
    """Blank means "no e-mail" (NULL), so the unique constraint only applies to real addresses."""
    email = (email or "").strip()
    return get_user_model().objects.normalize_email(email) if email else None


def user_signup(*, username: str, email: str | None, password: str) -> User:
    """Create an account; usernames and e-mails are unique regardless of letter case."""
    user_model = get_user_model()
    username = user_model.normalize_username(username.strip())
    email = _normalize_email(email)
    errors: dict[str, list[str]] = {}
    if user_model.objects.filter(username__iexact=username).exists():
        errors["username"] = ["A user with that username already exists."]
    if email and user_model.objects.filter(email__iexact=email).exists():
        errors["email"] = ["An account with that e-mail address already exists."]
    candidate = user_model(username=username, email=email)
    try:
        password_validation.validate_password(password, user=candidate)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise InvalidInput(errors)
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(username=username, email=email, password=password)
    except IntegrityError as exc:
        # Two sign-ups raced for the same name or address; the constraint had the last word.
        raise InvalidInput(
            {"username": ["That username or e-mail address was just taken. Please choose another."]}
        ) from exc
    logger.info("user signed up", extra={"user_id": user.pk})
    return user


SUBMISSION_KEY_PREFIX = "accounts:form-submission"
SUBMISSION_ID_MAX_LENGTH = 64
SUBMISSION_MEMORY_SECONDS = 24 * 60 * 60
ALREADY_SUBMITTED_MESSAGE = (
    "This form was already sent: its token was created then, and its secret was shown once. "
    "Create a new token below if you need another."
)


def _new_token_key() -> str:
    return TOKEN_KEY_PREFIX + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)


def _submission_key(*, user: User, submission: str) -> str:
    return f"{SUBMISSION_KEY_PREFIX}:{user.pk}:{submission[:SUBMISSION_ID_MAX_LENGTH]}"


def _submission_claim(*, user: User, submission: str) -> None:
    """The first use of a form's one-time id wins; a resubmitted form (a reload) is refused."""
    if not cache.add(
        _submission_key(user=user, submission=submission), 1, SUBMISSION_MEMORY_SECONDS
    ):
        raise Conflict({"submission": [ALREADY_SUBMITTED_MESSAGE]})


def _submission_release(*, user: User, submission: str) -> None:
    cache.delete(_submission_key(user=user, submission=submission))


def api_token_create(
    *, user: User, name: str, submission: str | None = None
) -> tuple[ApiToken, str]:
    """Issue a token and return it with its secret key, which is never stored or shown again.

    ``submission`` (the HTML form's one-time id) makes a resubmitted form create nothing. It
    is used up only by a token created: a form refused for its name (or the limit) is sent
    again, corrected, with the same id.
    """
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"name": ["Give the token a name, e.g. the script that will use it."]})
    if len(name) > TOKEN_NAME_MAX_LENGTH:
        raise InvalidInput({"name": [f"Use at most {TOKEN_NAME_MAX_LENGTH} characters."]})
    claimed = False
    try:
        with transaction.atomic():
            # Serialise concurrent creations for one user so the cap cannot be overshot.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            if ApiToken.objects.active().filter(user=user).count() >= MAX_ACTIVE_TOKENS_PER_USER:
                raise InvalidInput(
                    {
                        "name": [
                            f"You already have {MAX_ACTIVE_TOKENS_PER_USER} active tokens, the "
                            "maximum. Revoke one you no longer use, then create a new one."
                        ]
                    }
                )
            if submission:
                _submission_claim(user=user, submission=submission)
                claimed = True
            key = _new_token_key()
            token = ApiToken.objects.create(
                user=user,
                name=name,
                prefix=key[:TOKEN_DISPLAY_PREFIX_LENGTH],
                key_hash=hash_token_key(key),
            )
    except Exception:
        if claimed:  # no token was committed (the insert or the commit failed): free the id
            _submission_release(user=user, submission=submission)
        raise
    logger.info("api token created", extra={"user_id": user.pk, "token_id": token.pk})
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens; revoking twice keeps the first revocation time."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound("No such API token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        logger.info("api token revoked", extra={"user_id": user.pk, "token_id": token.pk})
    return token


def api_tokens_revoke(*, token_ids: list[int]) -> int:
    """Revoke tokens by id regardless of owner (staff action in the admin); returns how many."""
    return ApiToken.objects.active().filter(pk__in=token_ids).update(revoked_at=timezone.now())


def demo_user_ensure(
    *,
    username: str,
    password: str,
    email: str | None = None,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> tuple[User, bool]:
    """Create the demo user or reset its password; returns (user, created).

    Running it again with the same arguments changes nothing but the password hash, so it is
    safe in start-up scripts. Staff or superuser flags are only ever granted here, not removed.
    """
    user_model = get_user_model()
    username = user_model.normalize_username(username.strip())
    if not username:
        raise InvalidInput({"username": ["A username is required."]})
    if not password:
        raise InvalidInput({"password": ["A password is required."]})
    email = _normalize_email(email)
    user = user_model.objects.filter(username=username).first()
    created = user is None
    if user is None:
        user = user_model(username=username)
    if email and user_model.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise InvalidInput({"email": [f"Another account already uses {email}."]})
    if email:
        user.email = email
    user.is_active = True
    user.is_staff = user.is_staff or is_staff or is_superuser
    user.is_superuser = user.is_superuser or is_superuser
    user.set_password(password)
    user.save()
    logger.info("demo user ensured", extra={"user_id": user.pk, "user_created": created})
    return user, created
