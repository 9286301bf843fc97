from django.apps import AppConfig


class JobsConfig(AppConfig):
    """An app so Celery discovers ``portal.jobs.tasks``; it has no tables of its own."""

    name = "portal.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
