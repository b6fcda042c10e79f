"""Settings for the escalation desk, read from the environment (django-environ).

Production differs from the laptop demo only by environment values. With no
``DATABASE_URL`` the app runs on an embedded SQLite file in WAL mode with
IMMEDIATE transactions, so the demo needs nothing installed.
"""

import re
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None

# "production" switches on HTTPS-only cookies, HSTS, the SSL redirect, an enforced
# Content Security Policy and hashed static files; "development" (the default) keeps the
# laptop demo and the test suite working over plain HTTP.
DJANGO_ENV = env("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=False)
_DEMO_SECRET = "insecure-demo-key-set-DJANGO_SECRET_KEY-in-production-0123456789abcdef"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=_DEMO_SECRET)
if PRODUCTION and (SECRET_KEY == _DEMO_SECRET or DEBUG):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Production needs DJANGO_SECRET_KEY set and DJANGO_DEBUG off.")

# Audit trail (README "Audit trail"): history rows are chained with an HMAC under a key of
# their own, named on each row by its id so the key can rotate: AUDIT_KEY_ID names the key
# new rows use, AUDIT_KEYS (JSON, {"k1": "...", "k2": "..."}) keeps the old ones for
# verification. AUDIT_SECRET is the current key; only development falls back to SECRET_KEY.
AUDIT_SECRET = env("AUDIT_SECRET", default="" if PRODUCTION else SECRET_KEY)
AUDIT_KEY_ID = env("AUDIT_KEY_ID", default="k1")
AUDIT_KEYS = {**env.json("AUDIT_KEYS", default={}), AUDIT_KEY_ID: AUDIT_SECRET}
# Rows chained before key ids existed were keyed with SECRET_KEY.
AUDIT_LEGACY_KEY = env("AUDIT_LEGACY_KEY", default=SECRET_KEY)
# Signed checkpoints of every chain head, written outside the database (a directory on
# another volume, or a mounted object store) by ``audit_checkpoint`` and every
# AUDIT_CHECKPOINT_MINUTES by the task cluster; optionally mailed to the auditors.
AUDIT_CHECKPOINT_DIR = env("AUDIT_CHECKPOINT_DIR", default="")
AUDIT_CHECKPOINT_EMAILS = env.list("AUDIT_CHECKPOINT_EMAILS", default=[])
AUDIT_CHECKPOINT_KEEP = env.int("AUDIT_CHECKPOINT_KEEP", default=0)  # 0 keeps every checkpoint
if PRODUCTION:
    from django.core.exceptions import ImproperlyConfigured

    from project.secret_strength import weakness

    for _name, _secret in (("DJANGO_SECRET_KEY", SECRET_KEY), ("AUDIT_SECRET", AUDIT_SECRET)):
        if _problem := weakness(_name, _secret):
            raise ImproperlyConfigured(_problem)
    if AUDIT_SECRET == SECRET_KEY:
        raise ImproperlyConfigured("AUDIT_SECRET must differ from DJANGO_SECRET_KEY in production.")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "django_q",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not a CDN
    "escalations.apps.EscalationsConfig",
]
# Benchmarks, load generators and data builders (``escalations.devtools``): development
# and CI only; a production process never loads them.
if not PRODUCTION:
    INSTALLED_APPS.append("escalations.devtools.apps.DevtoolsConfig")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "escalations.views.middleware.RejectNulMiddleware",  # NUL in a URL: 400, never a database error
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "escalations.views.viewer_tz.ViewerTimezoneMiddleware",  # times in the browser's zone
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out logins before checking passwords
    "escalations.core.auth_backend.CachedPermissionsBackend",  # ModelBackend, permission sets cached a few seconds
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

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
                "escalations.views.menu.staff_menu",
            ],
            # money, duration and local-time filters on every page, admin included
            "builtins": ["escalations.views.filters"],
        },
    },
]

SQLITE_PATH = env("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3"))
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"),
        }
    )
    # The reports' covering index (PostgreSQL INCLUDE columns) is a plain index on SQLite.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Uploaded files (e-mail attachments): Django's default storage, here the file system.
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
MEDIA_URL = "media/"  # never served as such: attachments go through a permission-checked view

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Security. Cookies, HSTS and the redirect follow DJANGO_ENV; each can be set on its own.
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", default=PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=PRODUCTION)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_SECONDS", default=8 * 3600)  # a working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"

# Content Security Policy (django-csp): scripts only from this site; enforced in
# production, reported (never blocking) in development.
_CSP = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],  # the admin and SVG charts use style attributes
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
if PRODUCTION:
    CONTENT_SECURITY_POLICY = _CSP
else:
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP

# Login throttling (django-axes): 5 failures per user name and address lock for an hour.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Behind DJANGO_BEHIND_PROXY, the client is read from X-Forwarded-For past this many proxies
# (escalations.core.client_ip), so one client's bad passwords never lock out the others.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=1 if BEHIND_PROXY else 0)
AXES_CLIENT_IP_CALLABLE = "escalations.core.client_ip.client_ip"

LOGIN_URL = "admin:login"

# E-mail: console in the demo; set EMAIL_URL (smtp://user:pass@host:587) in production.
vars().update(env.email("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="escalation-desk@localhost")

# Incoming e-mail (README "E-mail in and out"). Each URL is one mailbox, e.g.
# imap+ssl://user:pass@mail.example:993/INBOX (also imap:// and imap+starttls://); the admin
# maps each to a category and team. The passwords stay here, never in the database.
MAILBOX_URLS = env.list("MAILBOX_URLS", default=[])
MAIL_FETCH_LIMIT = env.int("MAIL_FETCH_LIMIT", default=500)  # messages per mailbox per run
MAIL_TIMEOUT_SECONDS = env.int("MAIL_TIMEOUT_SECONDS", default=30)
# Certificates of the IMAP servers are verified against the system's CAs, plus this file if set.
MAIL_CA_FILE = env("MAIL_CA_FILE", default="")
MAIL_MESSAGE_MAX_BYTES = env.int("MAIL_MESSAGE_MAX_BYTES", default=25 * 1024 * 1024)
# A reply to a case resolved at most this many days ago reopens it; later, or once the case
# is closed, the reply opens a follow-up case that names the old one.
MAIL_REOPEN_DAYS = env.int("MAIL_REOPEN_DAYS", default=14)
# The right-hand side of our outgoing Message-IDs (default: the domain of DEFAULT_FROM_EMAIL).
MAIL_MESSAGE_ID_DOMAIN = env("MAIL_MESSAGE_ID_DOMAIN", default="")
# Attachments (any channel): the largest file and the content types accepted (shell-style patterns).
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_TYPES = env.list(
    "ATTACHMENT_TYPES",
    default=[
        "image/*",
        "text/plain",
        "text/csv",
        "application/pdf",
        "application/zip",
        "message/rfc822",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.*",
        "application/vnd.oasis.opendocument.*",
        "application/json",
        "application/xml",
        "text/xml",
    ],
)
# The virus-scan hook: a dotted path to ``scan(filename, content_type, data) -> str | None``,
# called for every file from any channel before it is stored; a string refuses the file
# (the message says why). Empty: files are not scanned.
ATTACHMENT_SCANNER = env("ATTACHMENT_SCANNER", default="")
# The requester portal (/portal/): how long an e-mailed sign-in link and a portal session
# last, and how many links one address and one client address may ask for per window.
PORTAL_LINK_MINUTES = env.int("PORTAL_LINK_MINUTES", default=30)
PORTAL_SESSION_MINUTES = env.int("PORTAL_SESSION_MINUTES", default=8 * 60)
PORTAL_LINK_WINDOW_SECONDS = env.int("PORTAL_LINK_WINDOW_SECONDS", default=3600)
PORTAL_LINKS_PER_ADDRESS = env.int("PORTAL_LINKS_PER_ADDRESS", default=3)
PORTAL_LINKS_PER_IP = env.int("PORTAL_LINKS_PER_IP", default=20)

# Audit trail: a revert would bypass the state machines, so it is switched off.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# django-q2: ORM broker by default, so the demo needs no Redis. ``retry`` must exceed
# ``timeout`` or a slow task is handed to a second worker while the first still runs.
Q_CLUSTER = {
    "name": env("Q_CLUSTER_NAME", default="escalations"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=60),
    "retry": env.int("Q_RETRY", default=120),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=3),
    "catch_up": False,
    "save_limit": 1000,
    "queue_limit": 100,
    "bulk": 10,
    "poll": 0.5,
    "sync": env.bool("Q_SYNC", default=False),
    "label": "Task queue",
}
if env("Q_REDIS_URL", default=""):
    Q_CLUSTER["redis"] = env("Q_REDIS_URL")
else:
    Q_CLUSTER["orm"] = "default"

# Domain settings.
ESCALATIONS = {
    # The admin warns when the sweep's heartbeat is older than this many minutes.
    "SWEEP_STALE_MINUTES": env.int("SWEEP_STALE_MINUTES", default=5),
    # Rows claimed per sweep transaction.
    "SWEEP_BATCH_SIZE": env.int("SWEEP_BATCH_SIZE", default=2000),
    # Sweepers started together by each scheduled sweep (SKIP LOCKED splits the due cases
    # between them); 2 suits a 2-core machine. The task queue needs as many workers.
    "SWEEPERS": env.int("SWEEPERS", default=2),
    # The fast path (one claim-and-load statement per batch, plain rows); off: the ORM load.
    "SWEEP_FAST": env.bool("SWEEP_FAST", default=True),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(name)s %(message)s", "datefmt": "%H:%M:%S"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
    # One line per sweep run (``python3 project/dev.py run`` sets INFO so a newcomer sees it).
    "loggers": {"escalations.sweep": {"level": env("SWEEP_LOG_LEVEL", default="WARNING")}},
}

# Absolute address of the site, used in links sent by e-mail (the requester's signed link).
SITE_URL = env("SITE_URL", default="http://localhost:8000")

# Approvals (docs/authorization.md, "Approvals"): the currency every amount is in, and the
# rolling window over which one requester's approved amounts of a kind are added up, so a
# sum split into small requests still needs the level that may approve the whole.
APPROVAL_CURRENCY = env("APPROVAL_CURRENCY", default=env("DESK_CURRENCY", default="EUR"))
# Queue pages poll for new cases and fresh rows every N seconds (0: no live updates).
QUEUE_LIVE_SECONDS = env.int("QUEUE_LIVE_SECONDS", default=15)
APPROVAL_WINDOW_DAYS = env.int("APPROVAL_WINDOW_DAYS", default=30)

# REST API (README "REST API and monitoring intake"): token authentication only (no
# session, so no CSRF question), scopes checked per view, keyset pages of API_PAGE_SIZE.
# API rate limits (escalations/api/throttles.py): per token, or per client address for signed
# intake without one; "N/s", "N/min", "N/hour" or "N/day"; "off" lifts a limit.
API_RATE = env("API_RATE", default="1200/min")
API_INTAKE_RATE = env("API_INTAKE_RATE", default="60000/min")
_RATE = re.compile(r"\s*[1-9]\d{0,8}\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*", re.I)
for _name, _rate in (("API_RATE", API_RATE), ("API_INTAKE_RATE", API_INTAKE_RATE)):
    if _rate.strip().lower() not in ("off", "0") and not _RATE.fullmatch(_rate):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f'{_name}="{_rate}" is not a rate: write e.g. "1200/min", "20/s" or "off".')

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["escalations.api.auth.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["escalations.api.auth.HasScope"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "escalations.api.errors.handle",
    "DEFAULT_THROTTLE_CLASSES": ["escalations.api.throttles.TokenRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Escalation desk API",
    "DESCRIPTION": "Cases, actions from the action catalogue, and monitoring intake. Authenticate with "
    "`Authorization: Bearer <token>` (python manage.py api_token create).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Impact and urgency share one choice set (high, medium, low): one enum in the schema.
    "ENUM_NAME_OVERRIDES": {"HighMediumLowEnum": "escalations.models.choices.Impact"},
}
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50)
# Monitoring intake: the shared secret of HMAC-signed deliveries (X-Escalation-Signature,
# or Grafana's X-Grafana-Alerting-Signature); empty: only tokens with the intake scope.
INTAKE_HMAC_SECRET = env("INTAKE_HMAC_SECRET", default="")
INTAKE_MAX_BYTES = env.int("INTAKE_MAX_BYTES", default=1024 * 1024)
INTAKE_MAX_ALERTS = env.int("INTAKE_MAX_ALERTS", default=500)
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)

# Text model (issue 17): no category is suggested until it has this many resolved cases
# (classes with fewer are left out of training for category, priority and level alike).
TEXT_MODEL_MIN_CASES = env.int("TEXT_MODEL_MIN_CASES", default=30)
