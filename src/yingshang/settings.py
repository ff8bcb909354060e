"""Settings, read from the environment with strict helpers.

Every environment variable is parsed strictly: a value that does not parse stops start-up with a
message naming the variable.  ``DATABASE_URL`` selects PostgreSQL (or any Django database); when it
is unset the embedded SQLite database under ``YINGSHANG_DATA_DIR`` is used and nothing needs
setting up.  ``YINGSHANG_MODE=production`` refuses to start with debug on, the default secret key
or the demo passwords enabled.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected true/false (1/0, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r}: must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


MODE = env_str("YINGSHANG_MODE", "development")
if MODE not in {"development", "production", "test"}:
    raise ImproperlyConfigured(f"YINGSHANG_MODE={MODE!r}: expected development, production or test")

DEFAULT_SECRET_KEY = "yingshang-insecure-development-key-change-me"
SECRET_KEY = env_str("SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", MODE == "development")
# Demo accounts share a published password; production must not allow them to log in.
DEMO_ACCOUNTS_ENABLED = env_bool("YINGSHANG_DEMO_ACCOUNTS", MODE != "production")
DEMO_PASSWORD = "Demo@2026yingshang"

if MODE == "production":
    problems = []
    if DEBUG:
        problems.append("DEBUG is on")
    if SECRET_KEY == DEFAULT_SECRET_KEY or len(SECRET_KEY) < 32:
        problems.append("SECRET_KEY is the default or shorter than 32 characters")
    if DEMO_ACCOUNTS_ENABLED:
        problems.append("YINGSHANG_DEMO_ACCOUNTS is on")
    if problems:
        raise ImproperlyConfigured("refusing to start in production mode: " + "; ".join(problems))

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DATA_DIR = Path(env_str("YINGSHANG_DATA_DIR", str(PROJECT_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "yingshang.core",
    "yingshang.enterprises",
    "yingshang.appeals",
    "yingshang.policies",
    "yingshang.service_items",
    "yingshang.liaison",
    "yingshang.supervision",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "yingshang.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "yingshang.urls"
WSGI_APPLICATION = "yingshang.wsgi.application"

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
                "django.template.context_processors.i18n",
                "yingshang.core.context_processors.navigation",
            ],
        },
    }
]

_database_url = os.environ.get("DATABASE_URL", "").strip()
if _database_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    except Exception as exc:  # dj-database-url raises several types
        raise ImproperlyConfigured(f"DATABASE_URL could not be parsed: {exc}") from None
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "yingshang.sqlite3",
            # a file, not memory: browser tests and the killed-import test use other threads/processes
            "TEST": {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")},
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "yingshang.core.passwords.CharacterClassValidator"},
]
# Account lockout: after this many consecutive failures the account is locked for some minutes.
LOGIN_MAX_FAILURES = env_int("YINGSHANG_LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_LOCK_MINUTES = env_int("YINGSHANG_LOGIN_LOCK_MINUTES", 30, minimum=1)
# Sessions end after this many minutes without activity.
SESSION_COOKIE_AGE = env_int("YINGSHANG_SESSION_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SECURE = MODE == "production"
CSRF_COOKIE_SECURE = MODE == "production"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Attachments: maximum size and the types whose content we recognise.
ATTACHMENT_MAX_BYTES = env_int("YINGSHANG_ATTACHMENT_MAX_MB", 20, minimum=1) * 1024 * 1024
ATTACHMENT_ALLOWED_TYPES = env_list(
    "YINGSHANG_ATTACHMENT_TYPES", ["pdf", "jpg", "png", "gif", "docx", "xlsx", "txt", "csv", "zip"]
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Notifications: channels other than the in-app inbox.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "yingshang@localhost")
NOTIFY_SMS_BACKEND = env_str("YINGSHANG_SMS_BACKEND", "yingshang.core.channels.LoggingSmsGateway")
NOTIFY_WEBHOOK_BACKEND = env_str("YINGSHANG_WEBHOOK_BACKEND", "yingshang.core.channels.LoggingWebhook")
NOTIFY_SMS_URL = env_str("YINGSHANG_SMS_URL", "")
# the address people outside (an applicant texted a rating link) reach the site at
SITE_URL = env_str("YINGSHANG_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
NOTIFY_WEBHOOK_URL = env_str("YINGSHANG_WEBHOOK_URL", "")

# Background work through Django's tasks interface.  The database backend needs no extra service;
# ``YINGSHANG_TASKS=immediate`` runs tasks in-process (tests).
_tasks_mode = env_str("YINGSHANG_TASKS", "database")
if _tasks_mode == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
elif _tasks_mode == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
else:
    raise ImproperlyConfigured(f"YINGSHANG_TASKS={_tasks_mode!r}: expected database or immediate")

# Import: rows per transaction.  A killed import loses at most the batch in flight, which is
# rolled back by the database; re-running the file upserts idempotently.
IMPORT_BATCH_ROWS = env_int("YINGSHANG_IMPORT_BATCH_ROWS", 2000, minimum=1)

# Appeals: limits in working days (REFERENCE.md "Appeals / hotline practice"); per-category
# resolution limits live on the category.
APPEAL_SIGN_DAYS = env_int("YINGSHANG_APPEAL_SIGN_DAYS", 1, minimum=0)
APPEAL_CONTACT_DAYS = env_int("YINGSHANG_APPEAL_CONTACT_DAYS", 1, minimum=0)
APPEAL_RETURN_DAYS = env_int("YINGSHANG_APPEAL_RETURN_DAYS", 2, minimum=0)
APPEAL_EXTENSION_MAX_DAYS = env_int("YINGSHANG_APPEAL_EXTENSION_MAX_DAYS", 10, minimum=1)
APPEAL_RATE_DAYS = env_int("YINGSHANG_APPEAL_RATE_DAYS", 5, minimum=1)
APPEAL_WARN_DAYS = env_int("YINGSHANG_APPEAL_WARN_DAYS", 1, minimum=0)
APPEAL_ESCALATE_DAYS = env_int("YINGSHANG_APPEAL_ESCALATE_DAYS", 1, minimum=0)
APPEAL_RANKING_MIN_SAMPLE = env_int("YINGSHANG_APPEAL_RANKING_MIN_SAMPLE", 10, minimum=1)
# service items and cases: yellow when this many working days or fewer are left; 差评 rectification limit
SERVICE_WARN_DAYS = env_int("YINGSHANG_SERVICE_WARN_DAYS", 2, minimum=0)
SERVICE_RECTIFY_DAYS = env_int("YINGSHANG_SERVICE_RECTIFY_DAYS", 5, minimum=1)
# policies: defaults of a new item's limits (working days), the precise push's channels besides the inbox,
# how long a process reuses the registry it loaded for simulations, when a re-match reads the whole registry
POLICY_ACCEPT_DAYS = env_int("YINGSHANG_POLICY_ACCEPT_DAYS", 3, minimum=1)
POLICY_REVIEW_DAYS = env_int("YINGSHANG_POLICY_REVIEW_DAYS", 10, minimum=1)
POLICY_NOTICE_DAYS = env_int("YINGSHANG_POLICY_NOTICE_DAYS", 5, minimum=1)
POLICY_PUSH_CHANNELS = tuple(env_list("YINGSHANG_POLICY_PUSH_CHANNELS", ["sms"]))
if set(POLICY_PUSH_CHANNELS) - {"sms", "email", "webhook"}:
    raise ImproperlyConfigured(f"YINGSHANG_POLICY_PUSH_CHANNELS={','.join(POLICY_PUSH_CHANNELS)!r}: "
                               "expected a comma-separated list of sms, email, webhook")
POLICY_SIMULATION_CACHE_SECONDS = env_int("YINGSHANG_POLICY_SIMULATION_CACHE_SECONDS", 600, minimum=0)
POLICY_REMATCH_FULL_THRESHOLD = env_int("YINGSHANG_POLICY_REMATCH_FULL_THRESHOLD", 200_000, minimum=1)
# connections a whole-registry read uses on PostgreSQL (default: the cores, 2 to 4)
POLICY_READ_CONNECTIONS = env_int("YINGSHANG_POLICY_READ_CONNECTIONS", max(2, min(4, os.cpu_count() or 2)), minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"yingshang": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")}},
}

if MODE == "production":
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

_ = _  # gettext_lazy kept for later settings with labels
