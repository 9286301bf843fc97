"""Test settings: the real settings with test-only overrides."""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault(
    "SECRET_KEY", "test-secret-key-not-for-production-0123456789-abcdefghijklmnop"
)
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("CACHE_KEY_PREFIX", f"mlpaygrade-test-{os.getpid()}")
# A queue private to this test session (the worker started by the tests inherits it), so a
# stray worker elsewhere cannot steal the tests' tasks.
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", f"test-{os.getpid()}")
# No API token listener unless a test starts one (tests/portal/test_token_cache.py): one left
# running would keep the test database open and serve other tests' tokens from memory.
os.environ.setdefault("API_TOKEN_CACHE", "0")

from portal.settings import *  # noqa: F403
from portal.settings import CACHES, REDIS_URL

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if not REDIS_URL:
    # Without Redis each test run gets a private in-memory cache (no files left behind), and
    # Celery an in-memory broker, so no test can reach some other broker on this machine.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
MLMODEL_RELOAD_CHECK_SECONDS = 0.2
# Tasks run inline unless a test asks for the real worker (fixture ``real_celery``).
CELERY_TASK_ALWAYS_EAGER = os.environ.get("TEST_CELERY_EAGER", "1") == "1"
# WhiteNoise only serves collected files; tests never collect them, so it has nothing to index.
WHITENOISE_AUTOREFRESH = True
