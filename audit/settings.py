"""Settings, read from the environment (12-factor).

Embedded defaults run the whole product with nothing but Python: SQLite under ``var/``, Kombu's
filesystem broker under ``var/broker`` (a real worker and beat, not eager mode) and console e-mail.
Set ``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``EMAIL_URL`` for PostgreSQL, Redis and SMTP.
"""

import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("AUDIT_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _generated_secret_key(path: Path) -> str:
    """A random key made once per installation and kept under the var dir (which the web and
    worker processes share), so no key is known to anyone who has read this code."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        scratch.write_text(secrets.token_urlsafe(50))
        scratch.chmod(0o600)
        try:
            os.link(scratch, path)  # atomic: a process starting at the same time keeps its own
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    return path.read_text().strip()


# Image-URL signatures and export pseudonyms rest on this key: refuse a weak one outside DEBUG.
MIN_SECRET_KEY_LENGTH = 50
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    SECRET_KEY = _generated_secret_key(VAR_DIR / "secret-key")
elif not DEBUG and (
    len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH
    or len(set(SECRET_KEY)) < 5
    or SECRET_KEY.startswith(("insecure", "django-insecure"))
):
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY is weak (fewer than {MIN_SECRET_KEY_LENGTH} characters, too few "
        "different characters, or a published default). Set a random one, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`, or unset it to have a "
        "random key made and kept in AUDIT_VAR_DIR/secret-key."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "audit.core",
    "audit.datasets",
    "audit.campaigns",
    "annotations",
    "audit.reports",
    "audit.reports.adjudication",
    "audit.reports.exports",
    "audit.regeneration",
    "audit.site",  # the top layer: may import every app above, nothing imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the expert's choice (cookie set by /i18n/setlang/), else the browser's.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.core.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "audit.urls"
WSGI_APPLICATION = "audit.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'audit.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; the timeout rides out short locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# Persistent connections (checked before reuse): opening a PostgreSQL connection per request
# costs more than most of our requests' own queries. SQLite opens a file, so it keeps 0.
_sqlite = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
DATABASES["default"]["CONN_MAX_AGE"] = env.int(
    "DATABASE_CONN_MAX_AGE", default=0 if _sqlite else 60
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("AUDIT_PASSWORD_MIN_LENGTH", default=12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Sign-in: django-axes counts failures per username + IP address and locks that pair out for
# a while; then the ModelBackend. Add single sign-on backends (e.g. mozilla-django-oidc,
# django-auth-ldap) with DJANGO_AUTHENTICATION_BACKENDS; see README "Accounts and sign-in".
AUTHENTICATION_BACKENDS = [
    "audit.core.auth.ThrottledBackend",
    "django.contrib.auth.backends.ModelBackend",
    *env.list("DJANGO_AUTHENTICATION_BACKENDS", default=[]),
]
AXES_ENABLED = env.bool("AUDIT_LOGIN_THROTTLE", default=True)
AXES_FAILURE_LIMIT = env.int("AUDIT_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AUDIT_LOGIN_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# Behind N reverse proxies (AUDIT_PROXY_COUNT), the client is the N-th X-Forwarded-For entry from
# the right (audit.core.auth.client_address): what a client writes there itself is ignored.
AUDIT_PROXY_COUNT = env.int("AUDIT_PROXY_COUNT", default=0)
# API tokens (audit.core.models.ApiToken): days a new token lives by default, and at most.
API_TOKEN_DAYS = env.int("AUDIT_API_TOKEN_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("AUDIT_API_TOKEN_MAX_DAYS", default=365)
AXES_CLIENT_IP_CALLABLE = "audit.core.auth.client_address"
# Sessions end after AUDIT_SESSION_AGE_SECONDS (8 hours: a working day), or when the
# browser closes if AUDIT_SESSION_EXPIRE_AT_BROWSER_CLOSE is set.
SESSION_COOKIE_AGE = env.int("AUDIT_SESSION_AGE_SECONDS", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("AUDIT_SESSION_EXPIRE_AT_BROWSER_CLOSE", default=False)
# Content-Security-Policy sent with every response (audit.core.middleware): no inline script.
CONTENT_SECURITY_POLICY = env.str(
    "AUDIT_CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)

# The interface in English (default) and Simplified Chinese: catalogues in locale/ (issue 15).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "audit.core.staticfiles.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Uploaded import files wait here for their Celery job.
UPLOAD_DIR = Path(env.str("AUDIT_UPLOAD_DIR", default=str(VAR_DIR / "uploads")))
# A job's files are deleted when it succeeds; after a failure they are kept this long (to look
# into), then removed by the hourly datasets.clean_uploads task.
UPLOAD_KEEP_HOURS = env.int("AUDIT_UPLOAD_KEEP_HOURS", default=72)
# The most an import upload (admin or API: the file and its image zips together) may hold;
# larger imports go through the import_dataset command on the server.
MAX_UPLOAD_BYTES = env.int("AUDIT_MAX_UPLOAD_BYTES", default=10 * 1024**3)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Content-addressed image store (sha256), one copy per image; thumbnails cached beside it.
IMAGE_STORE_DIR = Path(env.str("AUDIT_IMAGE_STORE", default=str(VAR_DIR / "images")))
# Read-only image roots for `import_dataset --in-place`: "name=/path,other=/path". An in-place
# image is recorded as "name/relative/path" under its root and read from there, never copied;
# a record's path must resolve inside the root (no "..", no symbolic link out of it).
IMAGE_ROOTS = {
    name.strip(): Path(root.strip())
    for name, _, root in (
        entry.partition("=") for entry in env.list("AUDIT_IMAGE_ROOTS", default=[]) if entry
    )
}
# Quality reports (HTML and PDF), served only through permission-checked views.
QUALITY_REPORTS_DIR = Path(env.str("AUDIT_REPORTS_DIR", default=str(VAR_DIR / "reports")))
# The site's address, for links in mailed reports (no request to take it from).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
IMAGE_MAX_PIXELS = env.int("AUDIT_IMAGE_MAX_PIXELS", default=100_000_000)
IMAGE_MAX_BYTES = env.int("AUDIT_IMAGE_MAX_BYTES", default=64 * 1024 * 1024)
IMAGE_URL_MAX_AGE = env.int("AUDIT_IMAGE_URL_MAX_AGE", default=6 * 3600)
IMAGE_THUMBNAIL_SIZES = (128, 256, 512)
# Thumbnails are made in the request only for images up to this many pixels (an 8000x8000 PNG
# costs a second and 250 MB to decode); larger ones are served whole, without metadata.
IMAGE_THUMBNAIL_MAX_PIXELS = env.int("AUDIT_IMAGE_THUMBNAIL_MAX_PIXELS", default=12_000_000)

# Imports: records per database batch, and the largest single JSON record accepted.
IMPORT_CHUNK_SIZE = env.int("AUDIT_IMPORT_CHUNK_SIZE", default=5000)
IMPORT_MAX_RECORD_BYTES = env.int("AUDIT_IMPORT_MAX_RECORD_BYTES", default=16 * 1024 * 1024)
# Threads reading, probing, hashing and storing an import's images while the records are
# written (hashlib, zlib and file I/O release the GIL).
IMPORT_IMAGE_THREADS = env.int("AUDIT_IMPORT_IMAGE_THREADS", default=3)
# Image work in this many forked processes (0: in AUDIT_IMPORT_IMAGE_THREADS threads instead),
# for a records file of at least AUDIT_IMPORT_IMAGE_PROCESSES_FROM_MB (forking them costs about
# 0.1 s, more than a small import's whole image work).
IMPORT_IMAGE_PROCESSES = env.int("AUDIT_IMPORT_IMAGE_PROCESSES", default=3)
IMPORT_IMAGE_PROCESSES_FROM_BYTES = int(
    env.float("AUDIT_IMPORT_IMAGE_PROCESSES_FROM_MB", default=1.0) * 1024 * 1024
)

# Shared between web and workers (import progress): files by default, Redis when CACHE_URL says so.
CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Without EMAIL_URL, mail (quality reports with their PDF) is written to files under var/mail
# instead of flooding the console; EMAIL_URL=consolemail:// prints it, smtp+tls://... sends it.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="filemail://")
vars().update(EMAIL_CONFIG)
if not env.str("EMAIL_URL", default=""):
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="audit@localhost")

# Celery. The default broker is Kombu's filesystem transport: no server to install, and a real
# worker process consumes from it (unlike eager mode).
BROKER_DIR = Path(env.str("AUDIT_BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "polling_interval": 0.5,
    }
    for _folder in ("queue", "control", "processed"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A task taken by a worker that died (acks_late) goes back to its queue once it is older than
    # the visibility timeout, found by a sweep every interval x throttle seconds. The timeout must
    # exceed the longest task (an export; a regeneration chunk's time limit).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE_DEFAULT", default="default")
# Queue names are settings (Saleor): io for imports and exports, analysis, gpu for regeneration.
# Each task names its queue once, through audit.core.tasks.job_task.
CELERY_QUEUE_IO = env.str("CELERY_QUEUE_IO", default="io")
CELERY_QUEUE_ANALYSIS = env.str("CELERY_QUEUE_ANALYSIS", default="analysis")
CELERY_QUEUE_GPU = env.str("CELERY_QUEUE_GPU", default="gpu")
# Exports (ratings, audited datasets): files under EXPORT_DIR, downloadable until they expire;
# rows read from the database in chunks of EXPORT_CHUNK_SIZE.
EXPORT_DIR = Path(env.str("AUDIT_EXPORT_DIR", default=str(VAR_DIR / "exports")))
EXPORT_TTL_HOURS = env.int("AUDIT_EXPORT_TTL_HOURS", default=72)
EXPORT_CHUNK_SIZE = env.int("AUDIT_EXPORT_CHUNK_SIZE", default=50_000)
# Seconds to wait after a rating before recomputing a campaign's analysis (debounce).
ANALYSIS_DEBOUNCE_SECONDS = env.int("AUDIT_ANALYSIS_DEBOUNCE_SECONDS", default=30)
ANALYSIS_BOOTSTRAP_REPLICATES = env.int("AUDIT_ANALYSIS_BOOTSTRAP_REPLICATES", default=1000)
# Automatic analyses (after ratings) of one campaign start at least this many seconds apart:
# the larger of the minimum and per-1000-ratings x the campaign's size, never above the maximum
# (keep it under CELERY_VISIBILITY_TIMEOUT: the wait is a countdown on the queued task). A big
# campaign's analysis costs more, so it runs less often while experts submit. The owner's
# "recompute now" and the nightly run are not held back.
ANALYSIS_MIN_INTERVAL_SECONDS = env.int("AUDIT_ANALYSIS_MIN_INTERVAL_SECONDS", default=60)
ANALYSIS_INTERVAL_PER_1000_RATINGS = env.float(
    "AUDIT_ANALYSIS_INTERVAL_PER_1000_RATINGS", default=3.0
)
ANALYSIS_MAX_INTERVAL_SECONDS = env.int("AUDIT_ANALYSIS_MAX_INTERVAL_SECONDS", default=1800)
# Automatic analyses are incremental: the previous run's data is kept in ANALYSIS_CACHE_DIR
# (one file per campaign) and only ratings changed since it was read (less the margin) are
# fetched; bootstrap intervals are kept from an earlier analysis, and labelled with its size and
# time, until the ratings changed by more than the share since then. The owner's "recompute
# now", the nightly run and quality reports always analyse everything afresh.
ANALYSIS_CACHE_DIR = Path(env.str("AUDIT_ANALYSIS_CACHE_DIR", default=str(VAR_DIR / "analysis")))
ANALYSIS_CACHE_MARGIN_SECONDS = env.int("AUDIT_ANALYSIS_CACHE_MARGIN_SECONDS", default=120)
ANALYSIS_INTERVAL_REFRESH_SHARE = env.float("AUDIT_ANALYSIS_INTERVAL_REFRESH_SHARE", default=0.05)
# Celery worker processes lower their CPU priority to this nice value when they start (the web
# keeps its own), so analyses, exports and reports yield the CPU to experts' requests.
WORKER_NICE = env.int("AUDIT_WORKER_NICE", default=10)
# Regeneration (audit/regeneration): the model server and its key come from the environment only;
# the key is never stored in a job row nor logged.
REGENERATION_BASE_URL = env.str("OPENAI_BASE_URL", default="http://127.0.0.1:8001/v1")
REGENERATION_API_KEY = env.str("OPENAI_API_KEY", default="")
REGENERATION_CHUNK_SIZE = env.int("AUDIT_REGENERATION_CHUNK_SIZE", default=256)
REGENERATION_TIMEOUT = env.float("AUDIT_REGENERATION_TIMEOUT", default=120.0)
REGENERATION_MAX_RETRIES = env.int("AUDIT_REGENERATION_MAX_RETRIES", default=4)
REGENERATION_RETRY_BACKOFF = env.float("AUDIT_REGENERATION_RETRY_BACKOFF", default=1.0)
# Model servers on loopback or private addresses that jobs may call (host[:port], comma-separated,
# e.g. "127.0.0.1:8000,vllm:8000"); OPENAI_BASE_URL's own host:port is always allowed. Link-local
# and cloud metadata addresses are refused whatever this says (audit/regeneration/egress.py).
REGENERATION_ALLOWED_SERVERS = env.list("AUDIT_MODEL_SERVER_ALLOW", default=[])
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: a request without credentials is answered 401 with WWW-Authenticate.
        "audit.core.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "audit.core.pagination.IdCursorPagination",
    "DEFAULT_THROTTLE_CLASSES": [
        "audit.core.throttling.WriteThrottle",
        "audit.core.throttling.JobThrottle",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "audit.core.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
# Rate limits of API writes per user (audit.core.throttling); "" turns one off.
API_RATES = {
    "writes": env.str("AUDIT_RATE_WRITES", default="600/min") or None,
    "jobs": env.str("AUDIT_RATE_JOBS", default="60/hour") or None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VQA audit API",
    "DESCRIPTION": "Expert quality audits of medical VQA training data.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed sidecar package: no CDN, the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two models have a "kind" field with different choices: name the exports' one apart.
    "ENUM_NAME_OVERRIDES": {"ExportKindEnum": "audit.reports.exports.models.ExportJob.Kind"},
    # Document the 400/401/403/404 refusals on every operation (checked by the API fuzz test).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "audit.core.openapi.add_common_answers",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_errors": {"()": "audit.core.logs.ClientErrorsWithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["client_errors"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint narrates every PDF step at INFO and warns about each SVG property of the
        # inline charts it ignores (fill, stroke, ...): hundreds of lines per report.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # one line per sign-in and start-up otherwise
        # The embedded broker has no host name; kombu says so on every connection.
        "kombu.connection": {"level": "ERROR"},
    },
}

# Behind TLS: DJANGO_SECURE=1 turns all of these on; each can still be set on its own.
# `DJANGO_DEBUG=0 DJANGO_SECURE=1 DJANGO_SECRET_KEY=... manage.py check --deploy` is clean.
_SECURE = not DEBUG and env.bool("DJANGO_SECURE", default=False)
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=_SECURE):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=_SECURE)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=_SECURE)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=_SECURE)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000 if _SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_SECURE)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=_SECURE)
