"""Django settings for Touchpoints.

Everything comes from the environment with defaults that boot with nothing
configured: SQLite under var/, a SQLite Huey queue beside it, DEBUG off
unless asked for.
"""
import zoneinfo
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import envbool, envint, envjson, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("TOUCHPOINTS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY", "")
if not SECRET_KEY:
    # A per-installation key kept under var/ so sessions survive restarts
    # without anyone having to configure one for a first run.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        from django.utils.crypto import get_random_string

        key_file.write_text(get_random_string(64))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = [h.strip() for h in envstr("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in envstr("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "django_htmx",
    "web",
    "accounts",
    "crm",
    "activities",
    "touchpoints",
    "emails",
    "telephony",
    "documents",
    "cases",
    "portal",
    "automation",
    "lists",
    "workflows",
    "alerts",
    "insights",
    "imports",
    "audit",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (django-csp; docs/security.md).
    "csp.middleware.CSPMiddleware",
    # Bodies over REQUEST_MAX_BYTES (or an upload route's own limit): 413 before parsing.
    "config.security.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in session used from outside the user's allowed ranges: 403 (accounts.network).
    "accounts.middleware.IpRestrictionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "web.http.HtmxSessionMiddleware",
    "web.middleware.UserTimeZoneMiddleware",
    "web.http.ServiceErrorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alerts.context_processors.bell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# SQLite is the embedded default. WAL lets readers run beside the writer;
# IMMEDIATE transactions take the write lock at BEGIN so two writers queue
# on busy_timeout instead of failing with "database is locked" when a
# deferred transaction tries to upgrade its lock.
DATABASE_URL = envstr("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("TEST", {})["NAME"] = envstr("TEST_DATABASE_NAME", "test_touchpoints")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": envstr("SQLITE_PATH", str(VAR_DIR / "touchpoints.sqlite3")),
            # Keep a thread's connection between requests, as for PostgreSQL:
            # opening one (and running init_command) costs 0.7 ms of CPU per
            # request, the largest single cost of a webhook (docs/benchmarks.md).
            "CONN_MAX_AGE": envint("DB_CONN_MAX_AGE", 60),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": envint("SQLITE_BUSY_TIMEOUT_SECONDS", 30, minimum=1),
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-65536;"
                ),
            },
            "TEST": {"NAME": envstr("SQLITE_TEST_PATH", str(VAR_DIR / "test.sqlite3"))},
        }
    }
if DATABASES["default"]["ENGINE"] not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...) or be empty for SQLite")
# A read replica of the PostgreSQL primary for reports and lists (config/db.py).
# In tests it mirrors the test database.
DATABASE_REPLICA_URL = envstr("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL to name the PostgreSQL primary")
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must point at PostgreSQL (postgres://...)")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# Django's backend, loading the user's team with the user (accounts.backends).
AUTHENTICATION_BACKENDS = ["accounts.backends.UserBackend"]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # storage is UTC; users' own zones apply to "today"/"overdue"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Documents and email attachments (documents.files). Any Django storage
    # backend by configuration, no code change: for S3-compatible object
    # storage, DOCUMENT_STORAGE=storages.backends.s3.S3Storage and
    # DOCUMENT_STORAGE_OPTIONS='{"bucket_name": "touchpoints", "endpoint_url": "https://..."}'
    # (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). docs/documents.md.
    "documents": {"BACKEND": envstr("DOCUMENT_STORAGE", "django.core.files.storage.FileSystemStorage"), "OPTIONS": envjson("DOCUMENT_STORAGE_OPTIONS", {})},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Outside DEBUG, serve the collected files (`touchpoints serve` runs collectstatic):
# only those have the pre-compressed .gz beside them (plotly.min.js: 4.8 MB -> 1.5 MB).
WHITENOISE_USE_FINDERS = DEBUG
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.min.js straight from the plotly wheel (no npm, nothing vendored).
    "web.finders.PlotlyFinder",
]

# --- Job queue --------------------------------------------------------------
# HUEY_URL: empty -> SQLite file under var/; redis://... -> Redis;
# postgres://... -> PostgreSQL (the same server as DATABASE_URL, or another).
HUEY_URL = envstr("HUEY_URL", "")
HUEY_IMMEDIATE = envbool("HUEY_IMMEDIATE", False)
if HUEY_URL.startswith("redis://"):
    HUEY = {"huey_class": "huey.RedisHuey", "name": "touchpoints", "url": HUEY_URL, "immediate": HUEY_IMMEDIATE}
elif HUEY_URL == "" or HUEY_URL.startswith("sqlite://"):
    huey_file = HUEY_URL.removeprefix("sqlite://") or str(VAR_DIR / "huey.sqlite3")
    HUEY = {"huey_class": "huey.SqliteHuey", "name": "touchpoints", "filename": huey_file, "immediate": HUEY_IMMEDIATE}
elif HUEY_URL.startswith(("postgres://", "postgresql://")):
    # Huey's SQL storage (peewee over psycopg 3): the queue in three tables
    # of that database, dequeued with FOR UPDATE SKIP LOCKED, so any number
    # of consumers share it (docs/operations.md).
    HUEY = {"huey_class": "huey.contrib.sql_huey.SqlHuey", "name": "touchpoints", "database": "psycopg3://" + HUEY_URL.split("://", 1)[1], "immediate": HUEY_IMMEDIATE}
else:
    raise ImproperlyConfigured("HUEY_URL must be empty, sqlite:///path, redis://host:port/db or postgres://user@host:port/db")
HUEY["consumer"] = {"workers": envint("HUEY_WORKERS", 2, minimum=1), "worker_type": "thread"}

# --- Touchpoints ------------------------------------------------------------
DEFAULT_PHONE_REGION = envstr("DEFAULT_PHONE_REGION", "US")
BATCH_MAX_ITEMS = 1000
# Actions dashboard: an open deal with no contact for this many days is
# idle (each user may choose their own on the dashboard).
IDLE_DEAL_DAYS = envint("IDLE_DEAL_DAYS", 14, minimum=1)
# Workflows' daily schedules ("09:00") and their date conditions use this zone (an IANA name).
COMPANY_TIME_ZONE = envstr("COMPANY_TIME_ZONE", "UTC")
if COMPANY_TIME_ZONE not in zoneinfo.available_timezones():
    raise ImproperlyConfigured(f"COMPANY_TIME_ZONE={COMPANY_TIME_ZONE!r} is not an IANA time zone name (e.g. Europe/Berlin)")
# Rows per page of the web UI's lists and Activity section.
UI_PAGE_SIZE = envint("UI_PAGE_SIZE", 25, minimum=5)

# --- Email channel ----------------------------------------------------------
# Outgoing mail (sending from the CRM, campaigns) goes through this SMTP
# server; Django's own EMAIL_* settings, read from the environment.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = envstr("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "touchpoints@localhost")
# Where recipients' mail clients reach the open pixel and click redirects.
PUBLIC_BASE_URL = envstr("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Keys for mailbox passwords at rest (Fernet, comma-separated, newest first
# so old keys still decrypt during a rotation). Empty: derived from SECRET_KEY.
CREDENTIALS_KEYS = [k.strip() for k in envstr("CREDENTIALS_KEYS", "").split(",") if k.strip()]
# How often the worker syncs each mailbox, and how many messages a FETCH asks for.
MAILBOX_SYNC_MINUTES = envint("MAILBOX_SYNC_MINUTES", 5, minimum=1)
IMAP_FETCH_BATCH = envint("IMAP_FETCH_BATCH", 500, minimum=1)
IMAP_TIMEOUT = envint("IMAP_TIMEOUT", 60, minimum=1)
# The BCC/forward drop: an SMTP server on loopback (`touchpoints smtpdrop`).
BCC_DROP_HOST = envstr("BCC_DROP_HOST", "127.0.0.1")
BCC_DROP_PORT = envint("BCC_DROP_PORT", 2525, minimum=1)
BCC_DROP_DOMAIN = envstr("BCC_DROP_DOMAIN", "drop.touchpoints.localhost")
MAX_RAW_EMAIL_BYTES = envint("MAX_RAW_EMAIL_BYTES", 50 * 1024 * 1024, minimum=1024)
# Attachments above this are recorded (name, size) but their bytes not kept.
MAX_ATTACHMENT_BYTES = envint("MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024, minimum=0)
MEDIA_ROOT = VAR_DIR / "media"
if STORAGES["documents"]["BACKEND"] == "django.core.files.storage.FileSystemStorage":
    STORAGES["documents"]["OPTIONS"].setdefault("location", str(MEDIA_ROOT))
# --- Documents, cases and the customer portal (issue #6) ---------------------------
# Uploads above this are refused with 413 (documents.files.LimitedUploadHandler
# stops reading them at the limit, so they cost no memory or disk).
DOCUMENT_MAX_BYTES = envint("DOCUMENT_MAX_BYTES", 25 * 1024 * 1024, minimum=1)
# A CSV uploaded to POST /api/v1/imports (a million contacts is ~150 MB).
IMPORT_MAX_BYTES = envint("IMPORT_MAX_BYTES", 2 * 1024 * 1024 * 1024, minimum=1)
# Uploaded import files and their error reports, one folder per upload.
IMPORTS_DIR = Path(envstr("IMPORTS_DIR", str(VAR_DIR / "imports")))
FILE_UPLOAD_HANDLERS = ["documents.files.LimitedUploadHandler"]
# The customer portal (portal/, docs/portal.md). Sessions end after this
# long without a request, and after PORTAL_SESSION_MAX_HOURS in any case.
PORTAL_SESSION_IDLE_MINUTES = envint("PORTAL_SESSION_IDLE_MINUTES", 30, minimum=1)
PORTAL_SESSION_MAX_HOURS = envint("PORTAL_SESSION_MAX_HOURS", 12, minimum=1)
PORTAL_INVITATION_DAYS = envint("PORTAL_INVITATION_DAYS", 7, minimum=1)
PORTAL_SIGN_IN_LINK_MINUTES = envint("PORTAL_SIGN_IN_LINK_MINUTES", 15, minimum=1)
# Password sign-in: at most this many failures per address (and 4x per
# client IP) in PORTAL_SIGN_IN_WINDOW_MINUTES, then 429 until the window passes.
PORTAL_SIGN_IN_FAILURES = envint("PORTAL_SIGN_IN_FAILURES", 5, minimum=1)
PORTAL_SIGN_IN_WINDOW_MINUTES = envint("PORTAL_SIGN_IN_WINDOW_MINUTES", 15, minimum=1)
# The portal's session cookie is Secure unless this is off (plain-HTTP
# installs other than localhost, which browsers treat as secure anyway).
PORTAL_COOKIE_SECURE = envbool("PORTAL_COOKIE_SECURE", envbool("COOKIE_SECURE", True))
PORTAL_COOKIE_NAME = "tp_portal"
SENTIMENT_SCORER = envstr("SENTIMENT_SCORER", "emails.sentiment.EmailScorer")
SENDGRID_WEBHOOK_PUBLIC_KEY = envstr("SENDGRID_WEBHOOK_PUBLIC_KEY", "")
# Telephony (telephony/): an answered call shorter than this is a Hangup.
TELEPHONY_HANGUP_SECONDS = envint("TELEPHONY_HANGUP_SECONDS", 5, minimum=0)
MAILGUN_WEBHOOK_SIGNING_KEY = envstr("MAILGUN_WEBHOOK_SIGNING_KEY", "")

# --- API tokens, IP restriction and rate limits (issue #10, docs/security.md) ---
# Staff sign-in (/login/): at most this many failures per username (and 4x per
# client IP) in the window, then 429 even for the right password until it passes.
STAFF_SIGN_IN_FAILURES = envint("STAFF_SIGN_IN_FAILURES", 5, minimum=1)
STAFF_SIGN_IN_WINDOW_MINUTES = envint("STAFF_SIGN_IN_WINDOW_MINUTES", 15, minimum=1)
# POST /api/v1/tokens: at most this many tokens created per user in the window (429 + Retry-After).
TOKEN_CREATIONS_PER_WINDOW = envint("TOKEN_CREATIONS_PER_WINDOW", 20, minimum=1)
TOKEN_CREATION_WINDOW_MINUTES = envint("TOKEN_CREATION_WINDOW_MINUTES", 60, minimum=1)
# Reverse proxies (comma-separated addresses or CIDR ranges) whose
# X-Forwarded-For is believed: the client is the right-most address not in
# this list. Empty: REMOTE_ADDR is the client (the IP restriction and the
# per-IP limits see the proxy's address if one is in front and not listed).
TRUSTED_PROXIES = [p.strip() for p in envstr("TRUSTED_PROXIES", "").split(",") if p.strip()]
for _proxy in TRUSTED_PROXIES:
    try:
        __import__("ipaddress").ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or CIDR range") from None

# --- Web security (issue #10, docs/security.md "Web security") ---------------
# Passwords (staff and portal) are hashed with argon2; a PBKDF2 hash from
# before is still read and is rehashed as argon2 at the next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Request bodies above this are refused with 413 before they are parsed;
# uploads have their own limits (config.security). Django reads no more
# than this into memory either.
REQUEST_MAX_BYTES = envint("REQUEST_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES
# Cookies: HttpOnly (the CSRF token reaches htmx through the page, never the
# cookie), SameSite=Lax, and Secure unless COOKIE_SECURE=false for a
# plain-HTTP install that is not on localhost (browsers keep Secure cookies
# for http://localhost and http://127.0.0.1, so `./dev run` signs in).
COOKIE_SECURE = envbool("COOKIE_SECURE", True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
# Headers (Django's SecurityMiddleware and XFrameOptionsMiddleware): HSTS on
# requests that came over TLS only, nosniff, a referrer policy, no framing.
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = envstr("SECURE_REFERRER_POLICY", "same-origin")
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy: the header (and value) it sets on HTTPS
# requests, e.g. SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https". Only
# set it when the proxy always sets or strips that header.
_proxy_ssl_header = envstr("SECURE_PROXY_SSL_HEADER", "")
if _proxy_ssl_header:
    _name, _, _value = _proxy_ssl_header.partition(":")
    if not _name.strip() or not _value.strip():
        raise ImproperlyConfigured('SECURE_PROXY_SSL_HEADER must look like "X-Forwarded-Proto: https"')
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _name.strip().upper().replace("-", "_"), _value.strip())
# Content-Security-Policy (django-csp): scripts, styles, images, fonts and
# requests from this origin only; no plugins, no framing, forms post here.
# Inline styles are allowed (plotly injects its stylesheet and sizes charts
# with style attributes); inline scripts are not: the pages' behaviour is in
# web/static/web/app.js. CSP_REPORT_ONLY=true sends the same policy as
# Content-Security-Policy-Report-Only (to try it on a live install first);
# CSP_REPORT_URI adds a report-uri.
_csp = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if envstr("CSP_REPORT_URI", ""):
    _csp["report-uri"] = [envstr("CSP_REPORT_URI", "")]
if envbool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _csp}
    CONTENT_SECURITY_POLICY = None
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _csp}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "WARNING")},
}
