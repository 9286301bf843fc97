"""Project-level Celery tasks."""

from portal.celery import app


@app.task(name="portal.health_ping_task")
def health_ping_task(token: str) -> str:
    """Echo a token so the readiness check can prove a worker consumes the broker."""
    return token
