"""Project-level Celery tasks."""

from celery import shared_task


@shared_task(name="portal.health_ping_task")
def health_ping_task(token: str) -> str:
    """Echo a token so the readiness check can prove a worker consumes the broker."""
    return token
