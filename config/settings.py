"""Settings, all from the environment (see .env.example for every variable).

Two runtime modes (DESIGN.md §2):
- ``embedded`` (the default, no configuration): SQLite under ``var/``, a broker that needs no
  server (kombu's filesystem transport), the archive on the local filesystem, the bundled Focus
  sandbox on 127.0.0.1. Secrets it needs are generated once into ``var/``.
- ``services`` (``FG_MODE=services``): Postgres, Redis, S3 and real Focus. Every required
  variable must be set, or the process refuses to start and names what is missing.

Outside ``services`` mode each dependency may still be pointed at a real server one by one
(``DATABASE_URL``, ``CELERY_BROKER_URL``, ``FG_STORAGE_BACKEND``): that is how the test suite
runs on Postgres and Redis without needing S3 credentials.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from core.logging import logging_config
from metrics import multiprocess

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FG_VAR_DIR", BASE_DIR / "var"))

FG_MODE = os.environ.get("FG_MODE", "embedded").strip().lower()
if FG_MODE not in {"embedded", "services"}:
    raise ImproperlyConfigured(f"FG_MODE must be 'embedded' or 'services', not {FG_MODE!r}")
SERVICES_MODE = FG_MODE == "services"


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = env(name)
    if not raw:
        return default
    return raw.lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = env(name)
    return int(raw) if raw else default


def env_float(name: str, default: float) -> float:
    raw = env(name)
    return float(raw) if raw else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


REQUIRED_IN_SERVICES = [
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "FG_ENCRYPTION_KEYS",
    "FG_ALLOWED_HOSTS",
    "FG_PUBLIC_URL",
    "FG_S3_BUCKET",
    "FOCUS_URL_HOMOLOGACAO",
    "FOCUS_URL_PRODUCAO",
]
if SERVICES_MODE:
    missing = [name for name in REQUIRED_IN_SERVICES if not env(name)]
    if missing:
        raise ImproperlyConfigured(
            "FG_MODE=services needs these environment variables, which are not set: "
            + ", ".join(missing)
            + ". See .env.example."
        )


def _embedded_secrets() -> dict[str, str]:
    """Secrets for the embedded mode, generated once and kept in var/ (never in git)."""
    path = VAR_DIR / "secrets.json"
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return json.loads(path.read_text())
    data = {
        "secret_key": secrets.token_urlsafe(50),
        "encryption_key": Fernet.generate_key().decode(),
    }
    # Written to a temporary name then renamed so that web, worker and beat starting together
    # never read half a file; the first writer wins and the others read its file.
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return json.loads(path.read_text())


_local = None if SERVICES_MODE else _embedded_secrets()

SECRET_KEY = env("DJANGO_SECRET_KEY") or (_local or {}).get("secret_key", "")
DEBUG = env_bool("DJANGO_DEBUG", default=not SERVICES_MODE)
ALLOWED_HOSTS = env_list("FG_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("FG_CSRF_TRUSTED_ORIGINS")
# The public base URL of this gateway: Focus hooks and file links point at it.
FG_PUBLIC_URL = env("FG_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# Keyring for secrets at rest (Focus tokens, webhook secrets): comma-separated Fernet keys,
# newest first. New values are encrypted with the first; every key decrypts.
# `manage.py rotate_encryption_keys` re-encrypts every row under the first key.
FG_ENCRYPTION_KEYS = env_list("FG_ENCRYPTION_KEYS") or [(_local or {}).get("encryption_key", "")]

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
    "core",
    "tenants",
    "fiscal",
    "webhooks",
    "storage",
    # Above every app (it reads them all); nothing imports it but config.
    "metrics",
]

MIDDLEWARE = [
    "core.middleware.RequestContextMiddleware",
    "core.middleware.BodySizeLimitMiddleware",
    "core.middleware.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- database
if env("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(
            env("DATABASE_URL"), conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
            # A kept connection is checked (one cheap round trip) before a request or task
            # reuses it, so a Postgres restart costs one reconnect, not failed work.
            conn_health_checks=True,
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                # web, worker and beat share the file: WAL lets readers go on while one writes,
                # IMMEDIATE takes the write lock up front so transactions queue instead of
                # failing with "database is locked" half-way.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it

# --- request limits
# Bodies larger than this are refused with 413 before anything reads them.
FG_MAX_BODY_BYTES = env_int("FG_MAX_BODY_BYTES", 1_048_576)
DATA_UPLOAD_MAX_MEMORY_SIZE = FG_MAX_BODY_BYTES
# JSON nested deeper than this is refused: no document Focus accepts comes close.
FG_MAX_JSON_DEPTH = env_int("FG_MAX_JSON_DEPTH", 32)
# Requests per minute and tenant through our API (Rate-Limit-* headers, 429 over it);
# a tenant row may set its own.
FG_TENANT_RATE_LIMIT = env_int("FG_TENANT_RATE_LIMIT", 1200)
# last_used_at is written at most this often per key, so authentication is not a write per call.
FG_API_KEY_TOUCH_SECONDS = env_int("FG_API_KEY_TOUCH_SECONDS", 60)

# --- REST framework
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.auth.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.TenantRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "core.renderers.CredentialFreeBrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "core.errors.native_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fiscal Gateway native API",
    "DESCRIPTION": (
        "What Focus NFe has no endpoint for: companies, API keys, notes, timelines, files, "
        "webhooks. The Focus-compatible facade lives under /v2/."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "OAS_VERSION": "3.1.0",
    # Swagger UI and ReDoc from our own static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI's default validator badge is an image from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "WEBHOOKS": "webhooks.openapi.WEBHOOKS",
    # One name per choice set, used by every field that takes it.
    "ENUM_NAME_OVERRIDES": {
        "NoteStatusEnum": "fiscal.models.NoteStatus",
        "DocTypeEnum": "tenants.models.DocType",
    },
}

# --- Celery
if env("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = env("CELERY_BROKER_URL")
    # A web request that cannot reach the broker must not hang retrying: the note is already
    # in Postgres and the dispatcher will hand it over. (Workers reconnect on their own terms.)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2,
    }
else:
    # kombu's filesystem transport: a broker that needs no server. Producers and consumers
    # share one folder of message files.
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # fanout/broadcast exchanges; kombu's default is a "control" folder in the cwd
        "control_folder": str(_broker_dir / "control"),
    }
# Postgres is the record of pending work (DESIGN.md §2); Celery only carries "do it now".
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 120)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 100)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Celery's Django fixup closes every database connection around each task unless this is
# set: a new Postgres connection (and backend) per task was a fifth of a worker's CPU. With it,
# connections follow CONN_MAX_AGE and the health checks, as in the web (config/celery.py calls
# close_old_connections around each task); the fixup still recycles them every N tasks.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
# Separate queues so that a slow tenant endpoint never delays emission.
CELERY_TASK_QUEUES = [Queue(name) for name in ("default", "submit", "sync", "webhooks", "archive")]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")


def beat_entry(
    task: str, *, every: float, queue: str | None = None, expires: int | None = None
) -> dict[str, object]:
    """A CELERY_BEAT_SCHEDULE entry: ``task`` every ``every`` seconds, sent to ``queue``; a
    tick no worker took within ``expires`` seconds is dropped (the next one does the same)."""
    options: dict[str, object] = {}
    if queue is not None:
        options["queue"] = queue
    if expires is not None:
        options["expires"] = expires
    return {"task": task, "schedule": every, **({"options": options} if options else {})}

# --- archive storage
FG_STORAGE_BACKEND = env("FG_STORAGE_BACKEND", "s3" if SERVICES_MODE else "filesystem")
FG_ARCHIVE_DIR = Path(env("FG_ARCHIVE_DIR") or VAR_DIR / "archive")
FG_S3_BUCKET = env("FG_S3_BUCKET")
FG_S3_ENDPOINT_URL = env("FG_S3_ENDPOINT_URL") or None
FG_S3_REGION = env("FG_S3_REGION", "us-east-1")
# Legal retention of fiscal files; the project was asked for 5 years (SUPPLEMENT: some read
# newer rules as 11 years, hence a setting).
FG_RETENTION_YEARS = env_int("FG_RETENTION_YEARS", 5)
FG_RETENTION_MODE = env("FG_RETENTION_MODE", "COMPLIANCE")
if FG_STORAGE_BACKEND not in {"filesystem", "s3"}:
    raise ImproperlyConfigured("FG_STORAGE_BACKEND must be 'filesystem' or 's3'")
if FG_STORAGE_BACKEND == "s3" and not FG_S3_BUCKET:
    raise ImproperlyConfigured("FG_STORAGE_BACKEND=s3 needs FG_S3_BUCKET")

# --- archive (storage/): every fiscal file downloaded from Focus and kept under retention.
if FG_RETENTION_MODE not in {"COMPLIANCE", "GOVERNANCE"}:
    raise ImproperlyConfigured("FG_RETENTION_MODE must be COMPLIANCE or GOVERNANCE")
# New objects also get an Object Lock legal hold (kept until lifted, whatever the retention).
FG_RETENTION_LEGAL_HOLD = env_bool("FG_RETENTION_LEGAL_HOLD", False)
# Services mode refuses a bucket without versioning + Object Lock; true allows it (development).
FG_S3_ALLOW_NO_OBJECT_LOCK = env_bool("FG_S3_ALLOW_NO_OBJECT_LOCK", False)
FG_S3_CONNECT_TIMEOUT = env_float("FG_S3_CONNECT_TIMEOUT", 5.0)
FG_S3_READ_TIMEOUT = env_float("FG_S3_READ_TIMEOUT", 60.0)
# Lifetime of the presigned URL a file download redirects to, in seconds.
FG_ARCHIVE_URL_EXPIRES = env_int("FG_ARCHIVE_URL_EXPIRES", 60)
# Lifetime of the signed caminho_* links of the facade's answers (README "File links"), seconds.
FG_FILE_LINK_MAX_AGE = env_int("FG_FILE_LINK_MAX_AGE", 7 * 24 * 3600)
# Read timeout of a file download from Focus; files larger than FG_ARCHIVE_MAX_BYTES are refused.
FG_ARCHIVE_DOWNLOAD_TIMEOUT = env_float("FG_ARCHIVE_DOWNLOAD_TIMEOUT", 60.0)
FG_ARCHIVE_MAX_BYTES = env_int("FG_ARCHIVE_MAX_BYTES", 512 * 1024 * 1024)
# A download is held in memory up to this size, then spooled to a temporary file.
FG_ARCHIVE_SPOOL_BYTES = env_int("FG_ARCHIVE_SPOOL_BYTES", 1024 * 1024)
# A claimed archive step's lease: longer than a task may run, so only a dead worker's expires.
FG_ARCHIVE_CLAIM_LEASE = env_int("FG_ARCHIVE_CLAIM_LEASE", 300)
# Retry after a failed download/upload: base * 2^(attempt-1) seconds, capped, +/- 10% jitter.
FG_ARCHIVE_RETRY_BASE = env_int("FG_ARCHIVE_RETRY_BASE", 30)
FG_ARCHIVE_RETRY_MAX = env_int("FG_ARCHIVE_RETRY_MAX", 6 * 3600)
FG_ARCHIVE_DISPATCH_BATCH = env_int("FG_ARCHIVE_DISPATCH_BATCH", 200)
# Archived files re-read and re-hashed per verification run (least recently verified first).
FG_ARCHIVE_VERIFY_SAMPLE = env_int("FG_ARCHIVE_VERIFY_SAMPLE", 50)
CELERY_BEAT_SCHEDULE["archive-dispatch"] = beat_entry(
    "storage.tasks.archive_dispatch", every=env_float("FG_ARCHIVE_DISPATCH_INTERVAL", 2.0),
    queue="archive", expires=10,
)
CELERY_BEAT_SCHEDULE["archive-verify-sample"] = beat_entry(
    "storage.tasks.archive_verify_sample", every=env_float("FG_ARCHIVE_VERIFY_INTERVAL", 3600.0),
    queue="archive", expires=600,
)

# --- Focus NFe upstream (the bundled sandbox by default)
FG_SANDBOX_URL = env("FG_SANDBOX_URL", "http://127.0.0.1:8765")
FOCUS_URL_HOMOLOGACAO = env("FOCUS_URL_HOMOLOGACAO", FG_SANDBOX_URL).rstrip("/")
FOCUS_URL_PRODUCAO = env("FOCUS_URL_PRODUCAO", FG_SANDBOX_URL).rstrip("/")
FOCUS_CONNECT_TIMEOUT = env_float("FOCUS_CONNECT_TIMEOUT", 5.0)
FOCUS_READ_TIMEOUT = env_float("FOCUS_READ_TIMEOUT", 30.0)

# --- the note lifecycle (fiscal/services.py)
# POST to Focus inside the tenant's request, bounded by FG_INLINE_SUBMIT_TIMEOUT, so the tenant
# sees Focus's own answer; false = queueing mode (always 202, the worker submits).
FG_INLINE_SUBMIT = env_bool("FG_INLINE_SUBMIT", default=True)
FG_INLINE_SUBMIT_TIMEOUT = env_float("FG_INLINE_SUBMIT_TIMEOUT", 3.0)
# A new note is claimed for the on_commit fast path; the dispatcher takes it after this grace.
FG_FASTPATH_GRACE = env_int("FG_FASTPATH_GRACE", 15)
# A claimed step's lease: longer than any Focus call, so only a dead worker's claim expires.
FG_CLAIM_LEASE = env_int("FG_CLAIM_LEASE", int(FOCUS_CONNECT_TIMEOUT + FOCUS_READ_TIMEOUT) + 30)
# Seconds between retries after an upstream failure, by attempt (the last one repeats).
FG_RETRY_SCHEDULE = [
    float(x) for x in env_list("FG_RETRY_SCHEDULE", "2,5,15,30,60,120,300,600,1800,3600")
]
# Seconds between polls of a note Focus is processing, by poll (the last one repeats).
FG_SYNC_SCHEDULE = [
    float(x) for x in env_list("FG_SYNC_SCHEDULE", "2,3,5,10,20,30,60,120,300,600,1800,3600")
]
# First poll after Focus accepted a note: soon without hooks, later when a hook will tell us.
FG_SYNC_FIRST_DELAY = env_float("FG_SYNC_FIRST_DELAY", 1.0)
FG_SYNC_FIRST_DELAY_HOOKED = env_float("FG_SYNC_FIRST_DELAY_HOOKED", 30.0)
# Focus works on async documents for up to 7 days; a note still processing after this is stuck.
FG_SYNC_HORIZON = env_int("FG_SYNC_HORIZON", 7 * 86400)
# Focus's rate limit per token and minute, and the share kept free for urgent calls.
FG_FOCUS_RATE_LIMIT = env_int("FG_FOCUS_RATE_LIMIT", 100)
FG_FOCUS_BUDGET_RESERVE = env_float("FG_FOCUS_BUDGET_RESERVE", 0.3)
# Events of the hooks the gateway registers at Focus for each company.
FG_FOCUS_HOOK_EVENTS = env_list(
    "FG_FOCUS_HOOK_EVENTS", "nfe,nfse,nfsen,inutilizacao,nfce_contingencia"
)
# Operations Focus does synchronously (cancel, CCe, ...): how long the tenant's request waits
# for Focus before the operation carries on in the background.
FG_OPERATION_INLINE_TIMEOUT = env_float("FG_OPERATION_INLINE_TIMEOUT", 15.0)
# NFCe emission is synchronous at Focus: the tenant waits this long for the final answer.
FG_NFCE_INLINE_TIMEOUT = env_float("FG_NFCE_INLINE_TIMEOUT", 20.0)
# Cancellation windows after authorization, in seconds (documented: NFe 24 h, NFCe 30 min);
# past them the gateway answers SEFAZ's rejection without calling Focus.
FG_NFE_CANCEL_WINDOW = env_int("FG_NFE_CANCEL_WINDOW", 24 * 3600)
FG_NFCE_CANCEL_WINDOW = env_int("FG_NFCE_CANCEL_WINDOW", 30 * 60)
# Register Focus hooks (needs FG_PUBLIC_URL reachable from Focus); polling works without.
FG_FOCUS_HOOKS_ENABLED = env_bool("FG_FOCUS_HOOKS_ENABLED", default=True)

# --- cache: the shared Focus request budget lives here (Redis when one is configured)
_redis_url = env("FG_REDIS_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
)
if _redis_url:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": _redis_url, "KEY_PREFIX": env("FG_CACHE_PREFIX", "fg"),
                    # A budget check must not hang a request when Redis does.
                    "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                    "LOCATION": str(VAR_DIR / "cache")}
    }

CELERY_BEAT_SCHEDULE["dispatch-notes"] = beat_entry(
    "fiscal.tasks.dispatch_notes", every=1.0, expires=5
)
CELERY_BEAT_SCHEDULE["reconcile-focus-hooks"] = beat_entry(
    "fiscal.tasks.reconcile_focus_hooks", every=3600.0
)

# --- fiscal changes (fiscal/changes.py): who hears of every note state change, in the same
# transaction. Each entry is "module.function" taking a FiscalChange.
FG_CHANGE_SUBSCRIBERS: list[str] = [
    "webhooks.events.on_fiscal_change",
    "storage.scheduling.on_fiscal_change",
    "metrics.receivers.on_fiscal_change",
]

# --- company changes (tenants/changes.py): who hears, after commit, that a company's Focus
# setup (tokens, document types, CNPJ/CPF, enabled) changed. Each entry is "module.function"
# taking the empresa id; fiscal re-registers the company's hooks at Focus.
FG_EMPRESA_CHANGE_SUBSCRIBERS: list[str] = [
    "fiscal.tasks.enqueue_hook_sync",
]

# --- webhooks (webhooks/): signed deliveries to tenant URLs, scheduled in Postgres.
# Loopback receivers (127.0.0.0/8, ::1) are refused unless this is set: local development and
# tests only. Private, link-local, CGNAT and metadata addresses are always refused.
FG_WEBHOOKS_ALLOW_LOOPBACK = env_bool("FG_WEBHOOKS_ALLOW_LOOPBACK", False)
# Services mode delivers to https URLs only.
FG_WEBHOOKS_REQUIRE_HTTPS = env_bool("FG_WEBHOOKS_REQUIRE_HTTPS", SERVICES_MODE)
# Seconds one attempt may take in all (connect + send + answer), and to connect.
FG_WEBHOOKS_TIMEOUT = env_float("FG_WEBHOOKS_TIMEOUT", 10.0)
FG_WEBHOOKS_CONNECT_TIMEOUT = env_float("FG_WEBHOOKS_CONNECT_TIMEOUT", 3.0)
# Seconds between failed attempts (about three days in all), each stretched by +/- jitter.
FG_WEBHOOKS_RETRY_SCHEDULE = [
    int(value) for value in env_list(
        "FG_WEBHOOKS_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,36000,36000,50400,72000"
    )
]
FG_WEBHOOKS_RETRY_JITTER = env_float("FG_WEBHOOKS_RETRY_JITTER", 0.2)
# A receiver's Retry-After is honoured up to this many seconds.
FG_WEBHOOKS_MAX_RETRY_AFTER = env_int("FG_WEBHOOKS_MAX_RETRY_AFTER", 86400)
# Deliveries in flight at once per endpoint: a hanging endpoint holds at most this many workers.
FG_WEBHOOKS_MAX_IN_FLIGHT = env_int("FG_WEBHOOKS_MAX_IN_FLIGHT", 4)
# Deliveries claimed per dispatcher run.
FG_WEBHOOKS_DISPATCH_BATCH = env_int("FG_WEBHOOKS_DISPATCH_BATCH", 500)
# A claim older than this many seconds is taken back (its worker died or its message was lost).
FG_WEBHOOKS_CLAIM_TIMEOUT = env_int("FG_WEBHOOKS_CLAIM_TIMEOUT", 90)
# An endpoint failing without a single success for this many hours is disabled.
FG_WEBHOOKS_DISABLE_AFTER_HOURS = env_float("FG_WEBHOOKS_DISABLE_AFTER_HOURS", 120.0)
# After a secret rotation the old secret also signs for this many hours.
FG_WEBHOOKS_ROTATION_OVERLAP_HOURS = env_float("FG_WEBHOOKS_ROTATION_OVERLAP_HOURS", 24.0)
# Bytes of a receiver's answer kept on the attempt.
FG_WEBHOOKS_RESPONSE_MAX_BYTES = env_int("FG_WEBHOOKS_RESPONSE_MAX_BYTES", 2048)
# A tick nobody ran in time is dropped: the next one finds the same rows.
CELERY_BEAT_SCHEDULE["webhooks-dispatch"] = beat_entry(
    "webhooks.tasks.dispatch_deliveries", every=env_float("FG_WEBHOOKS_DISPATCH_INTERVAL", 1.0),
    queue="webhooks", expires=10,
)
# Certificate expiry warnings (webhooks.certificates): idempotent, so any interval works;
# hourly means a warning is at most an hour late.
CELERY_BEAT_SCHEDULE["certificate-notices"] = beat_entry(
    "webhooks.tasks.certificate_notices",
    every=env_float("FG_CERTIFICATE_NOTICES_INTERVAL", 3600.0), queue="webhooks", expires=600,
)

# --- monthly partitions of the append-only tables (core/partitions.py; Postgres only)
# Delivery attempts older than this are dropped a month at a time (the delivery row stays).
FG_DELIVERY_ATTEMPT_RETENTION_DAYS = env_int("FG_DELIVERY_ATTEMPT_RETENTION_DAYS", 90)
# The note timeline is part of the fiscal record: kept at least the legal retention
# (FG_RETENTION_YEARS), then detached (not dropped) for an operator to archive.
FG_TIMELINE_RETENTION_DAYS = env_int(
    "FG_TIMELINE_RETENTION_DAYS", FG_RETENTION_YEARS * 366 + 31
)
if FG_TIMELINE_RETENTION_DAYS < FG_RETENTION_YEARS * 366:
    raise ImproperlyConfigured("FG_TIMELINE_RETENTION_DAYS is shorter than FG_RETENTION_YEARS")
# Month partitions created ahead of time by the maintenance task (besides the current one).
FG_PARTITION_MONTHS_AHEAD = env_int("FG_PARTITION_MONTHS_AHEAD", 2)
FG_PARTITIONED_TABLES: dict[str, dict[str, object]] = {
    "fiscal_noteevent": {"column": "created_at", "retention_days": FG_TIMELINE_RETENTION_DAYS,
                         "drop_detached": False},
    "webhooks_attempt": {"column": "started_at",
                         "retention_days": FG_DELIVERY_ATTEMPT_RETENTION_DAYS,
                         "drop_detached": True},
}
CELERY_BEAT_SCHEDULE["partitions-maintain"] = beat_entry(
    "core.tasks.partitions_maintain", every=env_float("FG_PARTITION_MAINTAIN_INTERVAL", 3600.0),
    expires=600,
)

# Route /bench/baseline (bench/bench_accept.py's baseline). Never in production.
FG_BENCH_ENDPOINTS = env_bool("FG_BENCH_ENDPOINTS", default=False)

# --- metrics (metrics/): GET /metrics in Prometheus's text format.
# Services mode: the scrape must send "Authorization: Bearer <token>"; unset, /metrics is 404.
# Embedded mode: open to loopback; other callers need the token when one is set.
FG_METRICS_TOKEN = env("FG_METRICS_TOKEN")
# Counters of every process (gunicorn workers, Celery children) are files in this folder, summed
# at scrape time (prometheus-client's multiprocess mode). Read by prometheus-client itself from
# the environment, before any metric exists: hence set here, before the apps load.
# Embedded: web, worker and beat share var/prometheus (make run empties it before they start).
# Services: each container (web, worker) needs a folder of its own (deploy/README.md).
multiprocess.configure(services=SERVICES_MODE, var_dir=VAR_DIR)
# Services mode: the worker's main process serves its counters on this port (0: not served),
# to the same bearer token; the web cannot read a worker container's files.
FG_METRICS_WORKER_PORT = env_int("FG_METRICS_WORKER_PORT", 0)
FG_METRICS_WORKER_BIND = env("FG_METRICS_WORKER_BIND", "0.0.0.0")  # noqa: S104 - in a container

# --- health checks
FG_READYZ_TIMEOUT = env_float("FG_READYZ_TIMEOUT", 2.0)
# What /readyz asks (core/health.py), name -> "module.function" returning what it reached or
# raising. Named here so that core never imports the apps above it.
FG_READINESS_CHECKS: dict[str, str] = {
    "database": "core.health.check_database",
    "broker": "core.health.check_broker",
    "storage": "storage.backends.archive_check",
}

# --- logging (core/logging.py): one line per record, UTC, secrets redacted; quiet at INFO (the
# dispatcher ticks write nothing). The worker, beat and gunicorn use this same configuration.
FG_LOG_FORMAT = env("FG_LOG_FORMAT", "plain").lower()
if FG_LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("FG_LOG_FORMAT must be 'plain' or 'json'")
LOGGING = logging_config(level=env("FG_LOG_LEVEL", "INFO"), fmt=FG_LOG_FORMAT)

if SERVICES_MODE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
