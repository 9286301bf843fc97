"""MLPayGrade Portal project package: settings, URLs, the Celery app, accounts and site pages."""

from portal.celery import app as celery_app

__all__ = ("celery_app",)
