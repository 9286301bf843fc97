"""Site-wide messages tied to authentication events."""

from django.contrib import messages
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

LOGGED_OUT_MESSAGE = "You are logged out."


@receiver(user_logged_out, dispatch_uid="pages-logged-out-message")
def say_logged_out(sender, request, user, **kwargs) -> None:
    """The next page says so (the site's log-out; the admin has its own "logged out" page)."""
    if request is None or request.path.startswith("/admin/"):
        return
    messages.success(request, LOGGED_OUT_MESSAGE)
