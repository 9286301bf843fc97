"""What a request says about its sender: the client address (which a forged X-Forwarded-For
cannot steer) and the length of its body."""

from django.conf import settings
from django.http import HttpRequest

UNKNOWN_CLIENT_IP = "0.0.0.0"  # noqa: S104 - a bucket name, not a bind address


def client_ip(request: HttpRequest) -> str:
    """Return the client address as seen by the outermost trusted proxy.

    With ``TRUSTED_PROXY_COUNT = 0`` the header is ignored entirely. With N trusted proxies,
    each of them appends the address it saw, so the client is the N-th entry from the right;
    anything further left was written by the client and is not trusted.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    # Behind a Unix socket with no proxy configured there is no address: every client then
    # shares one bucket, which is safe (stricter), unlike an invalid value that would crash.
    remote_addr = request.META.get("REMOTE_ADDR", "") or UNKNOWN_CLIENT_IP
    if proxies <= 0:
        return remote_addr
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote_addr
    return forwarded[-proxies]


def content_length(request: HttpRequest) -> int:
    """The body length the client declared; 0 when absent. A malformed one never reaches a
    view: ``portal.middleware.LengthRequiredMiddleware`` answers it 400."""
    return int(request.META.get("CONTENT_LENGTH") or 0)
