"""Settings for MLPayGrade Portal, read from the environment (12-factor).

Infrastructure variables are bare (``DATABASE_URL``, ``REDIS_URL``); when they are unset the
portal runs on an embedded default: a SQLite file under ``var/`` and Celery in eager mode.
Every variable is documented in the README.
"""

from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env (written by `make run` on a developer's machine) fills in what the environment
# does not set, so `manage.py` commands work outside make too; real environment variables win.
ENV_FILE = Path(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE)

# --- Core -----------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-dev-only-key-never-used-when-debug-is-off-0123456789abcdef"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode (DEBUG off) refuses to start without it: "
            'export SECRET_KEY to a long random string (e.g. `python -c "import secrets; '
            'print(secrets.token_urlsafe(50))"`), or set DEBUG=1 for local development.'
        )
    SECRET_KEY = _DEV_SECRET_KEY
# Keys still accepted for signatures made before a rotation (docs/operations.md): nobody is
# signed out while the new key takes over.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "portal.accounts",
    "portal.pages",
    "portal.jobs",
    "mlmodel",
    "predictions",
    "feedback",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.CSPMiddleware",
    "portal.middleware.RequestIdMiddleware",
    "portal.middleware.LengthRequiredMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    "portal.errors.ErrorPagesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
                "portal.pages.context_processors.demo_model",
            ],
        },
    },
]

# --- Database: Postgres via psycopg 3 when DATABASE_URL is set, else a SQLite file ------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Django's backend with a health check that polls the socket instead of a SELECT 1.
        DATABASES["default"]["ENGINE"] = "portal.db.postgresql"
        # A database that does not answer is a quick 503, not a request hanging on connect.
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
            "DB_CONNECT_TIMEOUT", default=5
        )
else:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {"timeout": 20},
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False

# --- Health checks ------------------------------------------------------------------------
# /readyz answers within this budget whatever hangs; its details and ?deep=1 (a task through a
# worker) are for staff or a probe sending this secret in X-Readiness-Secret.
READINESS_BUDGET_SECONDS = env.float("READINESS_BUDGET_SECONDS", default=2.0)
READINESS_SECRET = env.str("READINESS_SECRET", default="")

# --- Metrics ------------------------------------------------------------------------------
# /metrics answers a scraper sending "Authorization: Bearer <METRICS_TOKEN>", or a staff user;
# without a token only staff can read it. PROMETHEUS_MULTIPROC_DIR is read by prometheus_client
# itself (portal/metrics.py, docker/gunicorn.conf.py).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Cache and Celery: Redis when REDIS_URL is set, else embedded ----------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_REDIS_URL = env.str("CACHE_REDIS_URL", default=REDIS_URL)
# Every Redis client (cache, broker, results) gives up on a silent server after this long, so
# no request can hang on Redis: it answers 503 instead.
REDIS_SOCKET_TIMEOUT_SECONDS = env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=1.0)
SILENCED_SYSTEM_CHECKS: list[str] = []
if CACHE_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mlpaygrade"),
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
            },
        }
    }
else:
    # The embedded server is one process tree; a file cache is shared across it. Its counters
    # are not atomic, which django-ratelimit warns about: acceptable without a Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.E003", "django_ratelimit.W001"]

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_TRACK_STARTED = True
CELERY_RESULT_EXPIRES = 24 * 60 * 60
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT_SECONDS
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT_SECONDS
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_TIMEOUT_SECONDS
# A publish that cannot reach the broker gives up quickly (then the job fails with a message).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
# visibility_timeout: how long the Redis transport waits before it redelivers a message whose
# worker never acknowledged it (acks late: the worker died mid-task). It must stay longer than
# any run, or a live run would get a twin; a dead worker's job is brought back much sooner by
# the heartbeat sweep below (portal.jobs.services.job_recover_lost_all), under a new task id, so
# this late copy then finds nothing to claim.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 60,
    "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# Job heartbeats (portal.jobs): a running job beats every JOB_HEARTBEAT_SECONDS; one silent for
# JOB_HEARTBEAT_TIMEOUT_SECONDS lost its worker and is sent again, up to JOB_MAX_ATTEMPTS runs.
JOB_HEARTBEAT_SECONDS = env.float("JOB_HEARTBEAT_SECONDS", default=30.0)
JOB_HEARTBEAT_TIMEOUT_SECONDS = env.float("JOB_HEARTBEAT_TIMEOUT_SECONDS", default=180.0)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)
if not 0 < JOB_HEARTBEAT_SECONDS <= JOB_HEARTBEAT_TIMEOUT_SECONDS / 2:
    raise ImproperlyConfigured(
        "JOB_HEARTBEAT_SECONDS must be above 0, and JOB_HEARTBEAT_TIMEOUT_SECONDS at least twice "
        "it: one late heartbeat must not make a live job look lost and run it twice."
    )
if JOB_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("JOB_MAX_ATTEMPTS must be at least 1 (the first run).")
# Periodic jobs, each interval from the environment.
BATCH_STALE_AFTER_SECONDS = env.int("BATCH_STALE_AFTER_SECONDS", default=2 * CELERY_TASK_TIME_LIMIT)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Every job type (portal.jobs); each type's own limit, e.g. BATCH_STALE_AFTER_SECONDS.
    "fail-stale-jobs": {
        "task": "portal.jobs.job_fail_stale_task",
        "schedule": env.float("JOB_SWEEP_INTERVAL_SECONDS", default=600.0),
    },
    # Every job type: running jobs whose heartbeat stopped are sent again, or failed.
    "recover-lost-jobs": {
        "task": "portal.jobs.job_recover_lost_task",
        "schedule": env.float("JOB_HEARTBEAT_SWEEP_SECONDS", default=60.0),
    },
}

# --- Experiments and rollout (mlmodel.rollout) ------------------------------------------------
# After the broker refuses an exposure message, web processes stop sending them for this long
# (a request never waits on a dead broker); the reconciliation sweep records them afterwards.
EXPOSURE_BROKER_BACKOFF_SECONDS = env.float("EXPOSURE_BROKER_BACKOFF_SECONDS", default=30.0)
# Each web process sends at most one "record the exposures" message per interval; the worker
# records every pending exposure in bulk (and the message runs twice the interval later).
EXPOSURE_SEND_INTERVAL_SECONDS = env.float("EXPOSURE_SEND_INTERVAL_SECONDS", default=2.0)
# Beat: exposures older than the grace period whose message never arrived are recorded.
EXPERIMENT_RECONCILE_SECONDS = env.float("EXPERIMENT_RECONCILE_SECONDS", default=60.0)
EXPERIMENT_RECONCILE_GRACE_SECONDS = env.float("EXPERIMENT_RECONCILE_GRACE_SECONDS", default=60.0)
EXPERIMENT_RECONCILE_BATCH = env.int("EXPERIMENT_RECONCILE_BATCH", default=5_000)
# Beat: the dashboard's daily rollup is rebuilt for the last ROLLUP_DAYS days (and any day
# whose feedback changed) every ROLLUP_INTERVAL_SECONDS.
ROLLUP_INTERVAL_SECONDS = env.float("ROLLUP_INTERVAL_SECONDS", default=60.0)
ROLLUP_DAYS = env.int("ROLLUP_DAYS", default=2)
# Sample-ratio mismatch: flagged at p < SRM_ALPHA once SRM_MIN_UNITS units are recorded.
SRM_ALPHA = env.float("SRM_ALPHA", default=0.001)
SRM_MIN_UNITS = env.int("SRM_MIN_UNITS", default=100)
# Input drift: population stability index per feature above this is flagged.
DRIFT_PSI_THRESHOLD = env.float("DRIFT_PSI_THRESHOLD", default=0.2)
# Guardrails (off by default): a staged ramp of the challenger's weight, held or rolled back
# when its feedback MAE is worse than the champion's by more than the fraction, its error rate
# is higher by more than the margin, or SRM fires. Every step is an audit event.
GUARDRAILS_ENABLED = env.bool("GUARDRAILS_ENABLED", default=False)
GUARDRAILS_INTERVAL_SECONDS = env.float("GUARDRAILS_INTERVAL_SECONDS", default=300.0)
GUARDRAILS_RAMP_STEPS = [
    int(step) for step in env.list("GUARDRAILS_RAMP_STEPS", default=["5", "25", "50", "100"])
]
GUARDRAILS_STEP_MIN_SECONDS = env.float("GUARDRAILS_STEP_MIN_SECONDS", default=3_600.0)
GUARDRAILS_STEP_MIN_ACTUALS = env.int("GUARDRAILS_STEP_MIN_ACTUALS", default=30)
GUARDRAILS_MAX_MAE_REGRESSION = env.float("GUARDRAILS_MAX_MAE_REGRESSION", default=0.05)
GUARDRAILS_MAX_ERROR_RATE_INCREASE = env.float("GUARDRAILS_MAX_ERROR_RATE_INCREASE", default=0.01)
if (
    not GUARDRAILS_RAMP_STEPS
    or sorted(GUARDRAILS_RAMP_STEPS) != GUARDRAILS_RAMP_STEPS
    or not all(1 <= step <= 100 for step in GUARDRAILS_RAMP_STEPS)
):
    raise ImproperlyConfigured(
        "GUARDRAILS_RAMP_STEPS must be increasing percentages from 1 to 100, e.g. 5,25,50,100."
    )
CELERY_BEAT_SCHEDULE.update(
    {
        "reconcile-experiment-exposures": {
            "task": "predictions.prediction_exposures_reconcile_task",
            "schedule": EXPERIMENT_RECONCILE_SECONDS,
        },
        "refresh-experiment-rollup": {
            "task": "mlmodel.rollout.arm_daily_stats_refresh_task",
            "schedule": ROLLUP_INTERVAL_SECONDS,
        },
        "experiment-guardrails": {
            "task": "mlmodel.rollout.guardrails_run_task",
            "schedule": GUARDRAILS_INTERVAL_SECONDS,
        },
    }
)

# --- Retraining runs (mlmodel.training_runs, issue 9) ----------------------------------------
# Celery beat starts a run every TRAINING_SCHEDULE_SECONDS (weekly by default; 0 = never).
TRAINING_SCHEDULE_SECONDS = env.float("TRAINING_SCHEDULE_SECONDS", default=7 * 24 * 60 * 60.0)
if TRAINING_SCHEDULE_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["scheduled-training-run"] = {
        "task": "mlmodel.training_run_scheduled_task",
        "schedule": TRAINING_SCHEDULE_SECONDS,
    }
# One run at a time: a Redis lock its worker renews; it expires this long after a worker died.
TRAINING_LOCK_SECONDS = env.float("TRAINING_LOCK_SECONDS", default=120.0)
# Gates: fewer approved rows fail the run; a candidate whose MAE is more than this fraction
# worse than the champion's on the same held-out rows, or whose held-out interval coverage is
# outside the range, is stored but marked "did not pass".
TRAINING_MIN_ROWS = env.int("TRAINING_MIN_ROWS", default=1_000)
TRAINING_GATE_MAX_MAE_REGRESSION = env.float("TRAINING_GATE_MAX_MAE_REGRESSION", default=0.02)
TRAINING_GATE_COVERAGE_RANGE = tuple(
    env.list("TRAINING_GATE_COVERAGE_RANGE", cast=float, default=[0.85, 0.95])
)
# Activation policy, off (0) by default: a candidate that passed its gates, improves MAE by at
# least TRAINING_POLICY_MIN_MAE_IMPROVEMENT and keeps coverage in the range starts an experiment
# (champion vs candidate) at this percent of traffic, through the rollout service.
TRAINING_POLICY_EXPERIMENT_WEIGHT = env.int("TRAINING_POLICY_EXPERIMENT_WEIGHT", default=0)
TRAINING_POLICY_MIN_MAE_IMPROVEMENT = env.float("TRAINING_POLICY_MIN_MAE_IMPROVEMENT", default=0.01)
TRAINING_POLICY_COVERAGE_RANGE = tuple(
    env.list("TRAINING_POLICY_COVERAGE_RANGE", cast=float, default=[0.88, 0.92])
)
for _name in ("TRAINING_GATE_COVERAGE_RANGE", "TRAINING_POLICY_COVERAGE_RANGE"):
    _low_high = vars()[_name]
    if len(_low_high) != 2 or not 0.0 <= _low_high[0] <= _low_high[1] <= 1.0:
        raise ImproperlyConfigured(f"{_name} must be two fractions 'low,high' with low <= high.")
if TRAINING_LOCK_SECONDS <= 0 or not 0 <= TRAINING_POLICY_EXPERIMENT_WEIGHT < 100:
    raise ImproperlyConfigured(
        "TRAINING_LOCK_SECONDS must be above 0 and TRAINING_POLICY_EXPERIMENT_WEIGHT a percent "
        "in 0..99 (0 = off)."
    )
# Feedback salaries wait for a staff review before they train a model; auto-approval of
# plausible values is a setting, off: sign-up is open, so fakes would poison the next model.
FEEDBACK_AUTO_APPROVE = env.bool("FEEDBACK_AUTO_APPROVE", default=False)

# --- Auth and accounts ------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "pages:home"
LOGOUT_REDIRECT_URL = "pages:home"

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="MLPayGrade <noreply@localhost>")

# --- Rate limits (django-ratelimit; "count/period" with s, m, h, d) ---------------------------
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_VIEW = "portal.errors.ratelimited"
RATELIMIT_IP_META_KEY = "portal.net.client_ip"
RATELIMIT_LOGIN = env.str("RATELIMIT_LOGIN", default="10/m")
RATELIMIT_TOKEN = env.str("RATELIMIT_TOKEN", default="10/m")
RATELIMIT_SIGNUP = env.str("RATELIMIT_SIGNUP", default="5/m")
# Password attempts on one username from all addresses together: far above what its owner
# needs, low enough that a botnet cannot guess one account for ever.
RATELIMIT_USERNAME_CEILING = env.str("RATELIMIT_USERNAME_CEILING", default="100/h")
RATELIMIT_PREDICT = env.str("RATELIMIT_PREDICT", default="120/m")
RATELIMIT_BATCH = env.str("RATELIMIT_BATCH", default="10/m")
RATELIMIT_FEEDBACK = env.str("RATELIMIT_FEEDBACK", default="60/m")
# CSP violation reports (anonymous, per client address); a page sends one per violation.
RATELIMIT_CSP_REPORT = env.str("RATELIMIT_CSP_REPORT", default="60/m")
# Number of reverse proxies in front of the app that append to X-Forwarded-For. 0 means the
# header is ignored and REMOTE_ADDR is the client: a forged header cannot pick its own bucket.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Security (production mode is the default; each setting overridable by env) ---------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
if TRUSTED_PROXY_COUNT or env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    # Only trust X-Forwarded-Proto from a TLS-terminating proxy we were told about.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Uploads: the batch CSV limit is enforced by the batch endpoint; this caps any request body.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
BATCH_UPLOAD_MAX_BYTES = env.int("BATCH_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
BATCH_SYNC_MAX_ROWS = env.int("BATCH_SYNC_MAX_ROWS", default=10_000)
BATCH_MAX_ROWS = env.int("BATCH_MAX_ROWS", default=200_000)

# --- Content-Security-Policy (django-csp 4) ----------------------------------------------------
# Strict: nothing inline runs or applies unless it carries the per-request nonce
# ({{ request.csp_nonce }}, added to the header only on responses that use it). The site's own
# pages have no inline script, style or style= attribute at all; the nonce is for the 500 page
# (which must work without the static manifest) and the Swagger UI page (templates/drf_spectacular/
# swagger_ui.html overrides drf-spectacular's to nonce its inline script and style). data: images
# are for the icons that Swagger UI's stylesheet embeds; images cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        # Browsers POST what the policy blocks here (portal/csp_reports.py): logged and counted.
        "report-uri": ["/csp-report"],
    },
}

# --- I18n and static files --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- REST API ---------------------------------------------------------------------------------
# Web processes keep looked-up API token rows in memory, dropped on PostgreSQL's notification of
# any change to a token or user (portal/accounts/token_cache.py); off: every request queries.
API_TOKEN_CACHE = env.bool("API_TOKEN_CACHE", default=True)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "portal.api.negotiation.StrictFormatContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MLPayGrade Portal API",
    "DESCRIPTION": "Salary estimates with calibrated 90% intervals for data and ML jobs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Operations without an explicit tag are tagged by the segment after /api/v1/ ("models").
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "TAGS": [
        {
            "name": "predictions",
            "description": "Salary estimates: one profile, your history, and batch CSV files "
            "(their estimates are in each job's result file).",
        },
        {
            "name": "feedback",
            "description": "Tell us the real salary and how good an estimate was; it becomes "
            "reviewed training data.",
        },
        {
            "name": "auth",
            "description": "API tokens (created with a password, shown once) and who the "
            "request authenticates as.",
        },
        {
            "name": "rollout",
            "description": "Staff: model versions, experiments (champion against challengers), "
            "promotion, rollback and the audit log.",
        },
        {
            "name": "training",
            "description": "Staff: start a retraining run and follow its progress.",
        },
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.document_empty_query_values",
    ],
}

# --- Model registry ---------------------------------------------------------------------------
# How often each process checks whether the active model version changed (one small query).
MLMODEL_RELOAD_CHECK_SECONDS = env.float("MLMODEL_RELOAD_CHECK_SECONDS", default=2.0)
# ensure_active_model (make run): seconds between its "… still …" lines while it trains.
ENSURE_MODEL_PROGRESS_SECONDS = env.float("ENSURE_MODEL_PROGRESS_SECONDS", default=10.0)
# Loaded artifacts kept per process (by artifact size; a served model is ~0.5 MB); versions the
# routing needs are never evicted, whatever the budget.
MLMODEL_CACHE_MAX_BYTES = env.int("MLMODEL_CACHE_MAX_BYTES", default=256 * 1024 * 1024)
# An artifact that failed its integrity check is read again after this long (or when its row
# changes): a repaired artifact serves without a restart.
MLMODEL_REFUSED_RETRY_SECONDS = env.float("MLMODEL_REFUSED_RETRY_SECONDS", default=60.0)
# libxgboost threads for many rows at once (batch files, shadow scoring). 1: web and worker
# processes share the cores, and a second OpenMP thread that spins between batches took twice
# the CPU for a 500-row batch for 1 ms less wall time (docs/benchmarks.md). 0: every core.
MLMODEL_BATCH_THREADS = env.int("MLMODEL_BATCH_THREADS", default=1)
SALARIES_CSV = env.str("SALARIES_CSV", default=str(BASE_DIR.parent / "shared/data/salaries.csv"))

# --- Logging: plain text by default, JSON lines with LOG_FORMAT=json --------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.security.DisallowedHost": {"level": "WARNING"},
    },
}
