"""Settings, all driven by the environment so one code base serves dev, CI and production."""

import hashlib
import hmac
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("LAYERLAB_REQUIRE_SECRET_KEY"):
        raise RuntimeError("DJANGO_SECRET_KEY must be set in production")
    SECRET_KEY = "layerlab-insecure-development-key-change-me-in-production-0123456789"  # noqa: S105
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",
    "courses",
    "labs",
    "authoring",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "courses.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

SQLITE_PATH = Path(os.environ.get("LAYERLAB_SQLITE_PATH", BASE_DIR / "var" / "layerlab.sqlite3"))
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    # The embedded default lives in var/, which a fresh checkout does not have yet.
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # The worker and the web process write at once: WAL + immediate transactions + a
            # generous busy timeout keep SQLite from answering "database is locked".
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": str(SQLITE_PATH.with_name(f"test_{SQLITE_PATH.name}"))},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "courses:list"
LOGOUT_REDIRECT_URL = "login"

# Email (sign-up confirmations, set-password links): printed to the web process's console unless
# an SMTP host is set; EMAIL_BACKEND overrides either.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Layerlab <noreply@localhost>")
# How long a sign-up's confirmation link works (an unconfirmed account can never log in).
LAYERLAB_SIGNUP_CONFIRM_SECONDS = env_int("LAYERLAB_SIGNUP_CONFIRM_SECONDS", 3 * 24 * 3600)

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# The start of every key Layerlab keeps in Redis (channel layer, rate limits, metrics).
LAYERLAB_REDIS_PREFIX = os.environ.get("LAYERLAB_CHANNEL_PREFIX", "layerlab")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # No read timeout: channels_redis's BZPOPMIN answers within its own 5 s. redis-py 8
            # reads with a 5 s timeout by default, which raced it (the consumer died with "Timeout
            # reading from", the page saw close code 1011); with any read timeout, a websocket's
            # receive cancelled as the socket closes could have its cancellation turned into a
            # TimeoutError, retried, and go on polling Redis for good (seen in 1 of 40 cancels).
            # Keepalive notices a peer that vanished without closing the connection. redis-py 8
            # refuses a command past 100 connections in a pool ("Too many connections"), which a
            # class opening 200 pages at once reached (each socket joins its group): the
            # handshake failed with HTTP 500.
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": None,
                    "socket_connect_timeout": 5,
                    "socket_keepalive": True,
                    "max_connections": env_int("LAYERLAB_CHANNEL_MAX_CONNECTIONS", 2000),
                }
            ],
            # Pushes are hints (the stored events are the truth), but a roomy channel means a
            # live page rarely has to fall back to the store.
            "capacity": 1000,
            "expiry": 60,
            "prefix": LAYERLAB_REDIS_PREFIX,
        },
    }
}

# Celery: long jobs that must not be lost (see docs/sandbox.md).
LAYERLAB_TASK_TIME_LIMIT = env_int("LAYERLAB_TASK_TIME_LIMIT", 3600)
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("LAYERLAB_DEFAULT_QUEUE", "default")
CELERY_TASK_ROUTES = {
    "labs.tasks.grade_submission_task": {"queue": "sandbox"},
    "labs.tasks.regrade_item_task": {"queue": "sandbox"},
}
# Redis hands a task it has not seen acknowledged within this time to another worker (acks_late).
# Longer than the longest task, so a long build is not delivered again while it runs; one that
# is anyway (LAYERLAB_VISIBILITY_TIMEOUT set shorter) finds its submission alive and waits (Busy).
LAYERLAB_VISIBILITY_TIMEOUT = env_int("LAYERLAB_VISIBILITY_TIMEOUT", LAYERLAB_TASK_TIME_LIMIT * 2)
# Put before every broker key (queues, unacked tasks, the broker mark): several sites, or a test
# run and a worker left over from an earlier one, can share one Redis database without taking
# each other's tasks. Changing it strands what is queued under the old keys until the sweep
# sends it again.
LAYERLAB_BROKER_PREFIX = os.environ.get("LAYERLAB_BROKER_PREFIX", "")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": LAYERLAB_BROKER_PREFIX,
    "visibility_timeout": LAYERLAB_VISIBILITY_TIMEOUT,
    # Kombu looks for overdue tasks about every 100 s (10 s, every 10th time); a short timeout sooner.
    "unacked_restore_interval": max(1, min(10, LAYERLAB_VISIBILITY_TIMEOUT // 3)),
    "unacked_restore_throttle": 1 if LAYERLAB_VISIBILITY_TIMEOUT <= 60 else 10,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TIME_LIMIT = LAYERLAB_TASK_TIME_LIMIT + 60
CELERY_TASK_SOFT_TIME_LIMIT = LAYERLAB_TASK_TIME_LIMIT
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Memory of one grading process: a hard address-space limit set in each pool process
# (config/celery.py; bytes, 0 turns it off), and the resident size past which Celery replaces a
# process once its task is done (KiB, 0 turns it off).
LAYERLAB_WORKER_MEMORY_MAX = env_int("LAYERLAB_WORKER_MEMORY_MAX", 4 * 1024 * 1024 * 1024)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("LAYERLAB_WORKER_MAX_RSS_KB", 1024 * 1024) or None

# Sandbox limits (per exercise values override the build timeout).
# Keys the namespace of each student's BuildKit cache mounts; without it, SECRET_KEY does.
LAYERLAB_CACHE_KEY = (
    os.environ.get("LAYERLAB_CACHE_KEY")
    or hmac.new(SECRET_KEY.encode(), b"layerlab-cache-namespace", hashlib.sha256).hexdigest()
)
LAYERLAB_LOG_CAP_BYTES = env_int("LAYERLAB_LOG_CAP_BYTES", 1024 * 1024)
LAYERLAB_CONTEXT_CAP_BYTES = env_int("LAYERLAB_CONTEXT_CAP_BYTES", 50 * 1024 * 1024)
LAYERLAB_IMAGE_CAP_BYTES = env_int("LAYERLAB_IMAGE_CAP_BYTES", 2 * 1024 * 1024 * 1024)
# What all of one build's RUN steps may write while it runs (checked every second).
LAYERLAB_BUILD_DISK_CAP_BYTES = env_int("LAYERLAB_BUILD_DISK_CAP_BYTES", 2 * LAYERLAB_IMAGE_CAP_BYTES)
# A build that fails with less than this free on the engine's disk failed because the host's disk
# is full: ours, retried, never the student's; the health endpoint flags a host below it.
LAYERLAB_ENGINE_MIN_FREE_BYTES = env_int("LAYERLAB_ENGINE_MIN_FREE_BYTES", 1024 * 1024 * 1024)
# The engine's caps (bin/host-setup puts dockerd under this cgroup with them); each build gets
# an equal share of its own, so a fork bomb or a memory hog cannot starve the builds beside it.
LAYERLAB_CGROUP = os.environ.get("LAYERLAB_CGROUP", "layerlab")
LAYERLAB_BUILD_CONCURRENCY = env_int("LAYERLAB_BUILD_CONCURRENCY", 2)
LAYERLAB_BUILD_PIDS_MAX = env_int("LAYERLAB_BUILD_PIDS_MAX", 1024)
# 4 GiB a build at two at once: the seed course's PGO+LTO link takes 3.1 GB resident in one process.
LAYERLAB_BUILD_MEMORY_MAX = env_int("LAYERLAB_BUILD_MEMORY_MAX", 8 * 1024 * 1024 * 1024)
# Exercises with `network: packages` build through this allowlisting proxy (bin/host-setup runs
# squid on the build bridge's gateway); empty means such exercises cannot be graded here.
LAYERLAB_PACKAGE_PROXY = os.environ.get("LAYERLAB_PACKAGE_PROXY", "http://172.17.0.1:3128")
# Large exercise files (the CPython source tarball) fetched and checksum-verified by `fetch_assets`.
LAYERLAB_ASSET_DIR = Path(os.environ.get("LAYERLAB_ASSET_DIR", BASE_DIR / "var" / "assets"))
LAYERLAB_MAX_GRADE_ATTEMPTS = env_int("LAYERLAB_MAX_GRADE_ATTEMPTS", 3)
# A grading worker marks its submission alive this often; one silent for the stale time is
# taken over (a redelivered task, or the sweep). Queued ones are sent again after the resend time.
LAYERLAB_HEARTBEAT_SECONDS = env_int("LAYERLAB_HEARTBEAT_SECONDS", 10)
LAYERLAB_HEARTBEAT_STALE_SECONDS = env_int("LAYERLAB_HEARTBEAT_STALE_SECONDS", 180)
LAYERLAB_QUEUE_RESEND_SECONDS = env_int("LAYERLAB_QUEUE_RESEND_SECONDS", 1800)
# This worker's build host (its own queue is sandbox.<name>); each host reports what its engine
# can build this often, and a host silent for the stale time gets no work passed to it.
LAYERLAB_BUILD_HOST = os.environ.get("LAYERLAB_BUILD_HOST", "local")
LAYERLAB_HOST_REPORT_SECONDS = env_int("LAYERLAB_HOST_REPORT_SECONDS", 30)
LAYERLAB_HOST_STALE_SECONDS = env_int("LAYERLAB_HOST_STALE_SECONDS", 120)
# A submission no live host can build (a base seeded nowhere) is offered again this often.
LAYERLAB_NO_HOST_RETRY_SECONDS = env_int("LAYERLAB_NO_HOST_RETRY_SECONDS", 60)
LAYERLAB_SWEEP_SECONDS = env_int("LAYERLAB_SWEEP_SECONDS", 60)
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-submissions": {
        "task": "labs.tasks.submission_sweep_task",
        "schedule": LAYERLAB_SWEEP_SECONDS,
    }
}
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get(
    "LAYERLAB_BEAT_SCHEDULE", str(BASE_DIR / "var" / "celerybeat-schedule")
)
# A student's submissions are built one at a time (the next waits, retried this often); a few may
# wait at once, and each exercise takes so many a minute from one student.
LAYERLAB_MAX_ACTIVE_SUBMISSIONS = env_int("LAYERLAB_MAX_ACTIVE_SUBMISSIONS", 3)
LAYERLAB_OWNER_BUSY_RETRY_SECONDS = env_int("LAYERLAB_OWNER_BUSY_RETRY_SECONDS", 5)
LAYERLAB_MAX_SUBMISSIONS_PER_MINUTE = env_int("LAYERLAB_MAX_SUBMISSIONS_PER_MINUTE", 6)
# The editor checks a draft against the static criteria as the student types (debounced).
LAYERLAB_LINT_PER_MINUTE = env_int("LAYERLAB_LINT_PER_MINUTE", 40)
LAYERLAB_TOKEN_TRIES_PER_MINUTE = env_int("LAYERLAB_TOKEN_TRIES_PER_MINUTE", 10)
LAYERLAB_SSE_SECONDS = env_int("LAYERLAB_SSE_SECONDS", 300)
"""A Server-Sent Events stream ends after this long; its client reconnects with Last-Event-ID."""
LAYERLAB_LOG_BATCH_SECONDS = 0.2  # + the 50 ms idle tick: a line waits at most 250 ms

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A grading's lines carry `submission=<id>` (labs.logs): grep a worker's log for one submission.
    "filters": {"submission": {"()": "labs.logs.SubmissionFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(submission)s%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["submission"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LAYERLAB_LOG_LEVEL", "INFO")},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
if env_bool("LAYERLAB_HTTPS"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LAYERLAB_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("LAYERLAB_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Who may read /metrics (addresses or networks; behind a proxy, the proxy's address is what counts).
LAYERLAB_METRICS_ALLOW = [
    a.strip() for a in os.environ.get("LAYERLAB_METRICS_ALLOW", "127.0.0.1,::1").split(",") if a.strip()
]

# daphne serves the static files itself unless a front proxy does (set LAYERLAB_SERVE_STATIC=0).
LAYERLAB_SERVE_STATIC = env_bool("LAYERLAB_SERVE_STATIC", True)
