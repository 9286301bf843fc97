"""Account pages: sign-up, log-in/out, password change and reset, and the API-token page."""

import logging

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from portal.accounts import throttling
from portal.accounts.forms import ApiTokenCreateForm, LoginForm, SignupForm
from portal.accounts.selectors import api_token_list_for_user
from portal.accounts.services import (
    MAX_ACTIVE_TOKENS_PER_USER,
    api_token_create,
    api_token_revoke,
    user_signup,
)
from portal.exceptions import Conflict, NotFound, ServiceError

logger = logging.getLogger(__name__)

ACCOUNT_TEMPLATE = "accounts/account.html"


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@never_cache
@require_http_methods(["GET", "POST"])
@ratelimit(group=throttling.SIGNUP_IP_GROUP, key="ip", rate=throttling.signup_rate, method="POST")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:account")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_signup(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ServiceError as exc:
            form.add_service_errors(exc.errors)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}! Your account is ready.")
            return redirect(_safe_next(request) or "pages:home")
    return render(request, "accounts/signup.html", {"form": form, "next": _safe_next(request)})


@throttling.LOGIN_DOOR.limit_class
class LoginView(auth_views.LoginView):
    """Django's login, limited per address, per username at an address, and per username."""

    form_class = LoginForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("accounts:password_change_done")


@method_decorator(
    ratelimit(
        group=throttling.PASSWORD_RESET_IP_GROUP,
        key="ip",
        rate=throttling.signup_rate,
        method="POST",
    ),
    name="post",
)
class PasswordResetView(auth_views.PasswordResetView):
    """Each POST may send an e-mail, so it shares the (strict) sign-up rate per address."""

    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")


def _render_account(
    request: HttpRequest,
    *,
    form: ApiTokenCreateForm,
    new_token=None,
    new_token_key: str | None = None,
) -> HttpResponse:
    tokens = list(api_token_list_for_user(user=request.user))
    context = {
        "form": form,
        "tokens": tokens,
        "active_token_count": sum(1 for token in tokens if token.is_active),
        "max_active_tokens": MAX_ACTIVE_TOKENS_PER_USER,
        "new_token": new_token,
        "new_token_key": new_token_key,
    }
    return render(request, ACCOUNT_TEMPLATE, context)


@never_cache
@login_required
def account(request: HttpRequest) -> HttpResponse:
    return _render_account(request, form=ApiTokenCreateForm())


@never_cache
@login_required
@require_POST
def api_token_create_view(request: HttpRequest) -> HttpResponse:
    """Create a token and show its secret on this response only (no redirect, never stored);
    a reload of that response creates nothing (the form's one-time submission id)."""
    form = ApiTokenCreateForm(request.POST)
    if form.is_valid():
        try:
            token, key = api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                submission=form.cleaned_data["submission"],
            )
        except Conflict as exc:
            # A reload of the page that showed the secret: nothing new, a fresh form.
            messages.info(request, " ".join(exc.errors["submission"]))
            return _render_account(request, form=ApiTokenCreateForm())
        except ServiceError as exc:
            form.add_service_errors(exc.errors)
        else:
            return _render_account(
                request, form=ApiTokenCreateForm(), new_token=token, new_token_key=key
            )
    return _render_account(request, form=form)


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = api_token_revoke(user=request.user, token_id=token_id)
    except NotFound as exc:
        raise Http404("No such API token.") from exc
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) is revoked.")
    return redirect("accounts:account")
