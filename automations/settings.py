"""Flowline settings, read from the environment with safe embedded defaults.

Embedded (default): SQLite in WAL mode, django-q2's ORM broker on its own SQLite file.
Scale-out: set DATABASE_URL (PostgreSQL) and REDIS_URL (Redis broker).
See README.md for every variable.
"""
import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("FLOWLINE_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

ENV = os.environ.get("FLOWLINE_ENV", "development")
PRODUCTION = ENV == "production"
TESTING = "pytest" in sys.modules or os.environ.get("FLOWLINE_TESTING") == "1"

_DEV_SECRET = "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
_DEV_FERNET = "ZmxvdWxpbmUtZGV2LW9ubHktZW5jcnlwdGlvbi1rZXk="  # "flowline-dev-only-encryption-key"

SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
ENCRYPTION_KEYS = [
    k.strip() for k in os.environ.get("FLOWLINE_ENCRYPTION_KEYS", "" if PRODUCTION else _DEV_FERNET).split(",")
    if k.strip()
]
if PRODUCTION:
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("FLOWLINE_ENV=production needs a real SECRET_KEY (50+ random characters).")
    if not ENCRYPTION_KEYS or _DEV_FERNET in ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            "FLOWLINE_ENV=production needs FLOWLINE_ENCRYPTION_KEYS (Fernet keys, comma-separated, newest first)."
        )

DEBUG = os.environ.get("FLOWLINE_DEBUG", "0" if PRODUCTION else "1") == "1" and not PRODUCTION
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("FLOWLINE_ALLOWED_HOSTS", "" if PRODUCTION else "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("FLOWLINE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
PUBLIC_URL = os.environ.get("FLOWLINE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_q",
    "connectors",
    "connectors.sandbox",
    "automations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "automations.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "automations.urls"
WSGI_APPLICATION = "automations.wsgi.application"

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
                "automations.views.common.workspace_context",
            ],
        },
    }
]


def _database_from_url(url: str) -> dict:
    u = urlparse(url)
    if u.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured("DATABASE_URL must be a postgresql:// URL")
    opts = {k: v[0] for k, v in parse_qs(u.query).items()}
    # Server-side prepared statements for the hot path's writes (automations/fastsql.py); Django's own
    # cursors bind on the client and never prepare. `?prepare_threshold=none` turns them off (a pgbouncer in
    # transaction mode older than 1.21 cannot keep them).
    threshold = opts.pop("prepare_threshold", "5")
    opts["prepare_threshold"] = None if threshold.lower() == "none" else int(threshold)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(u.path.lstrip("/")) or "flowline",
        "USER": unquote(u.username or ""),
        "PASSWORD": unquote(u.password or ""),
        "HOST": u.hostname or "",
        "PORT": str(u.port or ""),
        "CONN_MAX_AGE": int(os.environ.get("FLOWLINE_CONN_MAX_AGE", "60")),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": opts,
    }


def _sqlite(name: str) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / name),
        # Keep connections: opening one runs the PRAGMAs below, and django-q2 closes "old"
        # connections around every task (profiled: a third of a worker's time went there).
        "CONN_MAX_AGE": int(os.environ.get("FLOWLINE_CONN_MAX_AGE", "600")),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            # IMMEDIATE: a transaction that reads then writes takes the write lock up front,
            # so it waits (busy timeout) instead of failing with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
                "PRAGMA foreign_keys=ON; PRAGMA cache_size=-20000; PRAGMA temp_store=MEMORY;"
            ),
        },
        "TEST": {"NAME": str(DATA_DIR / f"test_{name}")} if os.environ.get("FLOWLINE_TEST_FILE_DB") else {},
    }


DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
if DATABASE_URL:
    DATABASES = {"default": _database_from_url(DATABASE_URL)}
else:
    DATABASES = {"default": _sqlite("flowline.sqlite3")}
if not REDIS_URL:
    # django-q2's ORM broker lives on its own alias so queue polling never contends with app writes.
    DATABASES["broker"] = _database_from_url(DATABASE_URL) if DATABASE_URL else _sqlite("broker.sqlite3")
DATABASE_ROUTERS = ["automations.dbrouter.BrokerRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-q2 as transport only (see ../shared/reliability.md section 4): the queue carries run ids,
# our tables hold state. timeout < retry; we count attempts ourselves; no catch-up storms.
Q_CLUSTER = {
    "name": os.environ.get("FLOWLINE_CLUSTER_NAME", "flowline"),
    "workers": int(os.environ.get("FLOWLINE_WORKERS", "2")),
    "timeout": 120,
    "retry": 300,
    "ack_failures": True,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": -1,  # our Run/StepResult tables are the history; don't store django-q2 Success rows
    "queue_limit": int(os.environ.get("FLOWLINE_QUEUE_LIMIT", "8")),
    "bulk": int(os.environ.get("FLOWLINE_BROKER_BULK", "4")),
    "poll": float(os.environ.get("FLOWLINE_BROKER_POLL", "0.1")),
    "recycle": 2000,
    "max_rss": 400_000,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "broker"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          # issue 10: one Redis can serve several deployments (and e2e stacks) without key clashes
                          "KEY_PREFIX": Q_CLUSTER["name"]}}
# issue 10: a cache every process on the host (or, with Redis, the fleet) shares: login throttling
# (automations/login_limit.py) and, embedded, django-q2's cluster heartbeats for /health/ready.
CACHES["shared"] = CACHES["default"] if REDIS_URL else {
    "BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(DATA_DIR / "cache"),
    "KEY_PREFIX": Q_CLUSTER["name"]}
if not REDIS_URL:
    Q_CLUSTER["cache"] = "shared"  # the ORM broker keeps cluster stats in a cache; LocMem is per process

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"

# Request bodies: webhook intake stores raw bodies up to this size (bytes).
WEBHOOK_MAX_BODY = int(os.environ.get("FLOWLINE_WEBHOOK_MAX_BODY", str(1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = max(WEBHOOK_MAX_BODY, 2_621_440)

# Outbound HTTP (connectors.safehttp): the SSRF guard is on; loopback only when switched on.
SSRF_ALLOW_LOOPBACK = os.environ.get("FLOWLINE_ALLOW_LOOPBACK", "0") == "1"
SSRF_ALLOW_PRIVATE = os.environ.get("FLOWLINE_ALLOW_PRIVATE", "0") == "1"
HTTP_MAX_RESPONSE_BYTES = int(os.environ.get("FLOWLINE_HTTP_MAX_RESPONSE", str(10 * 1024 * 1024)))

# Modules that declare apps and operations (connectors/registry.py).
FLOWLINE_APP_MODULES = [
    "automations.builtin",
    "connectors.builtin",
    "connectors.gohighlevel",
    "automations.ghl_events",
    "connectors.email_apps",
]
# GoHighLevel webhook verification (automations/webhook_verify.py): lists of PEMs for rotation;
# None uses the keys GoHighLevel publishes (automations/ghl_keys.py).
GHL_WEBHOOK_ED25519_KEYS = None
GHL_WEBHOOK_RSA_KEYS = None
GHL_WEBHOOK_TOLERANCE = 300
GHL_WEBHOOK_REQUIRE_TIMESTAMP = os.environ.get("FLOWLINE_GHL_REQUIRE_TIMESTAMP", "0") == "1"
POLL_MAX_ITEMS = 2000

# Sandboxes (faithful local copies of the APIs) are served under /sandbox/ when enabled.
SANDBOX_ENABLED = os.environ.get("FLOWLINE_SANDBOX", "0" if PRODUCTION else "1") == "1"

# Engine
RUN_LEASE_SECONDS = int(os.environ.get("FLOWLINE_RUN_LEASE", "90"))
STEP_MAX_ATTEMPTS = int(os.environ.get("FLOWLINE_STEP_MAX_ATTEMPTS", "5"))
RETRY_BASE_SECONDS = float(os.environ.get("FLOWLINE_RETRY_BASE", "5"))
RETRY_MAX_SECONDS = float(os.environ.get("FLOWLINE_RETRY_MAX", "3600"))
# The pump in each worker process (automations/pump.py): how often an idle pump looks for queued
# runs, and how many runs it claims at a time (one write claims them all; those not started
# within a second are handed back, so a slow run never holds others up for long).
PUMP_ENABLED = os.environ.get("FLOWLINE_PUMP", "1") == "1"
PUMP_POLL_SECONDS = float(os.environ.get("FLOWLINE_PUMP_POLL", "0.05"))
PUMP_BATCH = int(os.environ.get("FLOWLINE_PUMP_BATCH", "4"))
TICK_SECONDS = float(os.environ.get("FLOWLINE_TICK", "1"))

EMAIL_BACKEND = os.environ.get("FLOWLINE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("FLOWLINE_FROM_EMAIL", "flowline@localhost")

if PRODUCTION:
    SECURE_SSL_REDIRECT = os.environ.get("FLOWLINE_SSL_REDIRECT", "1") == "1"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("FLOWLINE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "automations.middleware.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "automations.logging.JsonFormatter"},  # issue 10: FLOWLINE_LOG_FORMAT=json
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                    "formatter": "json" if os.environ.get("FLOWLINE_LOG_FORMAT") == "json" else "plain"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("FLOWLINE_LOG_LEVEL", "INFO")},
    # httpcore logs raw request/response headers (Authorization!) at DEBUG: never below WARNING (issue 10)
    "loggers": {"django_q": {"level": "WARNING"}, "httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# --- Runs history, replay, alerts and retention (issue 7; README lists them) -------------------------
# Auto-pause a flow when this share of its finished runs in the window failed (with at least MIN runs).
FLOWLINE_PAUSE_RATIO = float(os.environ.get("FLOWLINE_PAUSE_RATIO", "0.95"))
FLOWLINE_PAUSE_MIN_RUNS = int(os.environ.get("FLOWLINE_PAUSE_MIN_RUNS", "20"))
FLOWLINE_PAUSE_WINDOW_DAYS = int(os.environ.get("FLOWLINE_PAUSE_WINDOW_DAYS", "7"))
# Auto-retry of failed runs (flows with options {"auto_retry": true}): delays in seconds, +-10% jitter.
FLOWLINE_AUTO_RETRY_SCHEDULE = [int(x) for x in os.environ.get(
    "FLOWLINE_AUTO_RETRY_SCHEDULE", "300,1800,3600,10800,21600").split(",") if x.strip()]
FLOWLINE_ALERT_THROTTLE_SECONDS = int(os.environ.get("FLOWLINE_ALERT_THROTTLE", "900"))  # one failure email per flow
# Runs list: page size, and how many runs one free-text search request scans (older ones: "Load more").
FLOWLINE_RUNS_PAGE = int(os.environ.get("FLOWLINE_RUNS_PAGE", "50"))
FLOWLINE_SEARCH_SCAN = int(os.environ.get("FLOWLINE_SEARCH_SCAN", "5000"))
FLOWLINE_REPLAY_BULK_MAX = int(os.environ.get("FLOWLINE_REPLAY_BULK_MAX", "5000"))
FLOWLINE_DASHBOARD_CACHE_SECONDS = int(os.environ.get("FLOWLINE_DASHBOARD_CACHE", "60"))
# Retention: runs older than Workspace.retention_days are pruned in batches; payloads (trigger data and
# step input/output/request/response) larger than PAYLOAD_CAP bytes are trimmed once PAYLOAD_FULL_DAYS old.
FLOWLINE_PRUNE_BATCH = int(os.environ.get("FLOWLINE_PRUNE_BATCH", "1000"))
FLOWLINE_PAYLOAD_CAP = int(os.environ.get("FLOWLINE_PAYLOAD_CAP", str(256 * 1024)))
FLOWLINE_PAYLOAD_FULL_DAYS = int(os.environ.get("FLOWLINE_PAYLOAD_FULL_DAYS", "1"))
# The dashboards' per-day counts (automations/rollup.py) outlive pruned runs; kept this many days.
FLOWLINE_ROLLUP_DAYS = int(os.environ.get("FLOWLINE_ROLLUP_DAYS", "400"))

if TESTING:
    # Tests create many users; the production hasher is deliberately slow.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Operations and hardening (issue 10; docs/SCALE-OUT.md, docs/SECURITY.md) ---------------------------
# /metrics needs "Authorization: Bearer <token>" when this is set (automations/ops.py).
FLOWLINE_METRICS_TOKEN = os.environ.get("FLOWLINE_METRICS_TOKEN", "")
# /health/ready reports "degraded" when the oldest queued run waited longer than this (seconds).
FLOWLINE_HEALTH_MAX_QUEUE_AGE = float(os.environ.get("FLOWLINE_HEALTH_MAX_QUEUE_AGE", "300"))
# Webhook intake per workspace (automations/ratelimit_hooks.py): average deliveries/s and burst; 0 = off.
FLOWLINE_WEBHOOK_RATE = float(os.environ.get("FLOWLINE_WEBHOOK_RATE", "50"))
FLOWLINE_WEBHOOK_BURST = float(os.environ.get("FLOWLINE_WEBHOOK_BURST", "500"))
# Login throttling (automations/login_limit.py): failures per username+IP, per IP, and the window (s).
FLOWLINE_LOGIN_MAX_FAILURES = int(os.environ.get("FLOWLINE_LOGIN_MAX_FAILURES", "5"))
FLOWLINE_LOGIN_MAX_IP_FAILURES = int(os.environ.get("FLOWLINE_LOGIN_MAX_IP_FAILURES", "50"))
FLOWLINE_LOGIN_WINDOW = int(os.environ.get("FLOWLINE_LOGIN_WINDOW", "900"))
