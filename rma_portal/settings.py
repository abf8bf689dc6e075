"""Settings for RMA Portal, read from environment variables.

With nothing set you get the embedded default (SQLite under var/, eager Celery tasks,
file email); production differs only through environment variables (see docs/operations.md).
"""

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import environ
from celery.schedules import crontab
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))

# Embedded mode: no DATABASE_URL means the single-process developer/demo setup.
EMBEDDED = not env("DATABASE_URL", default="")

DEBUG = env.bool("DEBUG", default=EMBEDDED)

if EMBEDDED:
    SECRET_KEY = env("SECRET_KEY", default="embedded-mode-insecure-key-do-not-use-in-production")
else:
    SECRET_KEY = env("SECRET_KEY")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if EMBEDDED else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rma_portal.backoffice.apps.BackofficeAdminConfig",
    "rest_framework",
    "axes",
    "drf_spectacular",
    "csp",
    "django_fsm",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # platform
    "rma_portal.tenancy",
    "rma_portal.accounts",
    "rma_portal.notifications",
    "rma_portal.files",
    "rma_portal.security",
    "rma_portal.credentials",
    "rma_portal.inbound",
    # domain
    "customers",
    "returns",
    "complaints",
    "analytics",
]

MIDDLEWARE = [
    # First: every later layer, log line and answer (error pages too) has the request's id.
    "rma_portal.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "rma_portal.security.headers.PrivateCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "rma_portal.accounts.two_factor.TwoFactorRequiredMiddleware",
    "rma_portal.tenancy.middleware.TenantMiddleware",
    "rma_portal.languages.CustomerLanguageMiddleware",
    "rma_portal.security.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rma_portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rma_portal.tenancy.context_processors.tenant",
                "rma_portal.languages.language_switcher",
            ],
            # |wall and |money: dates and amounts in the language's formats (rma_portal.formats).
            "builtins": ["rma_portal.formats.tags"],
        },
    },
]

WSGI_APPLICATION = "rma_portal.wsgi.application"

if EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", default=str(VAR_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20},
        }
    }
else:
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # PostgreSQL plus row-level security kept in step with the tenancy context.
        DATABASES["default"]["ENGINE"] = "rma_portal.tenancy.postgresql"

# Row-level security on every tenant-owned table (PostgreSQL only; docs/security.md): web
# requests run as DATABASE_APP_ROLE and see only their tenant's rows; migrations, workers and
# commands run as the connecting role. SQLite keeps the application-level guard only.
DATABASE_ROW_SECURITY = env.bool("DATABASE_ROW_SECURITY", default=True)
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE", default="rma_app")
if not DATABASE_APP_ROLE.replace("_", "").isalnum():
    raise ImproperlyConfigured("DATABASE_APP_ROLE must be letters, digits and underscores.")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
# Seconds every connection to Redis (broker from web, worker and beat; cache; health check)
# waits to connect, and for an answer: a Redis that is down or hung costs a request a bounded
# wait, never a gunicorn timeout (docs/operations.md#faults-and-what-they-cost).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=1.0)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)


def _redis_database(url: str) -> int:
    """The database number of a redis://, rediss:// or unix:// URL (path or ?db=)."""
    parsed = urlsplit(url)
    query = parse_qs(parsed.query)
    if "db" in query:
        return int(query["db"][0])
    return int(parsed.path.strip("/") or 0) if parsed.scheme != "unix" else 0


def redis_cache_url(redis_url: str) -> str:
    """The cache's URL for a broker URL: the same server, the database 8 apart (0<->8, 1<->9,
    ..., 7<->15), so that emptying the cache (FLUSHDB) never touches the task queue. Redis has
    16 databases unless configured otherwise; the pairs never overlap."""
    parsed = urlsplit(redis_url)
    database = _redis_database(redis_url) ^ 8
    query = parse_qs(parsed.query)
    if "db" in query or parsed.scheme == "unix":
        query["db"] = [str(database)]
        return redis_url.split("?", 1)[0] + "?" + urlencode(query, doseq=True)
    return urlunsplit(parsed._replace(path=f"/{database}"))


def _redis_location(url: str) -> tuple:
    """Which server and database a Redis URL names (credentials and spelling aside)."""
    parsed = urlsplit(url)
    if parsed.scheme == "unix":
        return ("unix", parsed.path, _redis_database(url))
    return ("tcp", parsed.hostname or "localhost", parsed.port or 6379, _redis_database(url))


# The broker keeps REDIS_URL's database; the cache gets its own (redis_cache_url) unless
# CACHE_URL names one. CELERY_BROKER_URL overrides the broker (Celery itself reads it too).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CACHE_URL = env("CACHE_URL", default=redis_cache_url(REDIS_URL) if REDIS_URL else "")
if (
    CACHE_URL
    and CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://"))
    and _redis_location(CACHE_URL) == _redis_location(CELERY_BROKER_URL)
):
    raise ImproperlyConfigured(
        "CACHE_URL and the broker (REDIS_URL / CELERY_BROKER_URL) are the same Redis database: "
        "clearing the cache would empty the task queue. Give the cache another database."
    )

# Cache keys carry the tenant (see rma_portal.tenancy.cache.make_key). The Redis backend
# treats an unreachable or hung Redis as a miss (reads) and a no-op (writes), after at most
# the timeouts above: the cache only saves work, its outage must never fail a request.
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "rma_portal.tenancy.cache.FaultTolerantRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="rma"),
            "KEY_FUNCTION": "rma_portal.tenancy.cache.make_key",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_FUNCTION": "rma_portal.tenancy.cache.make_key",
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-ins while locked out
    "rma_portal.accounts.backends.RoleBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# AUTH_PASSWORD_VALIDATORS: with the two-factor and session settings below.

LANGUAGE_CODE = "en"
# Every language of the site: a new one is its catalogue under locale/ and a line here
# (docs/languages.md). Each tenant chooses which of them its customers are offered.
LANGUAGES = [("en", _("English")), ("pl", _("Polish")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Warsaw"
USE_I18N = True
USE_TZ = True
# One way to write dates, times and numbers per language: rma_portal/formats/<language>/
# (docs/architecture.md#dates-times-and-numbers). Grouping is asked for where a figure is an
# amount or a count people read (|money, number_format(force_grouping=True)), never globally:
# ids, years and input values stay ungrouped.
FORMAT_MODULE_PATH = ["rma_portal.formats"]
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# No MEDIA_URL route is ever mounted: stored files are served by permission-checking views.
MEDIA_URL = "/media-not-public/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed names need `collectstatic` first (the Dockerfile runs it).
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Email: files under var/mail/ in embedded mode, SMTP (EMAIL_URL) in production.
EMAIL_URL = env("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="RMA Portal <no-reply@rma-portal.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in e-mails are absolute: they are rendered by workers, outside any request.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# Celery: eager in-process in embedded mode, Redis broker (CELERY_BROKER_URL above) otherwise.
# No result backend: nothing waits for a task's result.
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
# Redis hands a message that was delivered but not acknowledged to another worker after the
# visibility timeout. With late acknowledgement a message is acknowledged when its task ends,
# and a retry's message (countdown up to 2 h, BACKOFF_SECONDS in notifications/services.py)
# waits unacknowledged on the worker until it is due. The timeout must outlast both, or the
# message runs twice: 3 h > the longest hard time limit (rebuild_rollups_task, 1 h) and > the
# longest countdown plus its task's limit (tests/test_redis_faults.py checks it). A message of
# a worker that died is handed out again only after that time; the outbox sweep re-enqueues
# its e-mails and webhook calls within minutes anyway.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3 * 3600,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}
# Seconds kombu keeps trying to (re)connect before a publish gives up (web, beat, the
# worker's own publishes); the request path tries once (rma_portal/notifications/enqueue.py).
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
# A worker started before Redis waits for it instead of exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# When a worker loses the broker connection, the messages of its running late-acknowledged
# tasks can no longer be acknowledged and are delivered again (returned to the queue when the
# channel closes, else after the visibility timeout). Letting the running copy finish would run
# the task twice, possibly at once; cancelling it leaves one run. Every task is safe to stop
# and run again: deliveries lock their row and check its status, rollups rebuild whole months
# in transactions, the monthly report is sent once (RollupState). Celery 6's default.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Seconds between two polls of the support mailboxes (inbound e-mail, below).
INBOUND_MAIL_POLL_SECONDS = env.int("INBOUND_MAIL_POLL_SECONDS", default=60)
if INBOUND_MAIL_POLL_SECONDS < 1:
    raise ImproperlyConfigured("INBOUND_MAIL_POLL_SECONDS must be at least 1.")
CELERY_BEAT_SCHEDULE = {
    # Rows whose enqueue was lost (broker down, worker killed) are sent by the sweep.
    "sweep-outbox": {"task": "notifications.sweep_outbox_task", "schedule": 60.0},
    # Unstarted cases of agents away today go to a colleague by the assignment rules; hourly,
    # so each tenant's new day is picked up in its own time zone.
    "reassign-absent": {"task": "customers.reassign_absent_task", "schedule": crontab(minute=5)},
    # SLA "at risk" / "breached" notices: at most five minutes late, each sent once.
    "scan-sla": {"task": "complaints.scan_sla_task", "schedule": 300.0},
    # ... and of the returns' decision and refund clocks (returns/sla_watch.py).
    "scan-return-sla": {"task": "returns.scan_sla_task", "schedule": 300.0},
    # Resolved complaints the customer is done with: a rated one closes when its reopen
    # window ends, so at most five minutes late; an unrated one after the auto-close days.
    "auto-close-complaints": {"task": "complaints.auto_close_complaints_task", "schedule": 300.0},
    # Resolved returns left alone for the tenant's auto-close days (CELERY_TIMEZONE, at night).
    "auto-close-returns": {
        "task": "returns.auto_close_returns_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # Approved returns: the reminder to send the goods, and expiry when they never came.
    "return-ship-deadlines": {
        "task": "returns.ship_deadlines_task",
        "schedule": crontab(minute=35),
    },
    # Return drafts left without lines for more than a day (the portal does not list them).
    "delete-empty-return-drafts": {
        "task": "returns.delete_empty_drafts_task",
        "schedule": crontab(minute=40),
    },
    # KPI rollups, one task per tenant: days changed since the last run, and yesterday once
    # the tenant's own day is over (hourly, so every time zone gets its night).
    "kpi-rollups": {"task": "analytics.rollups_task", "schedule": crontab(minute=20)},
    # Last month's PDF report to managers and tenant admins, from 06:00 on each tenant's 1st.
    "monthly-kpi-reports": {
        "task": "analytics.monthly_reports_task",
        "schedule": crontab(minute=50),
    },
    # Last quarter's PDF report, generated and stored from 06:00 on each tenant's first day of
    # a quarter (downloadable from the dashboard).
    "quarterly-kpi-reports": {
        "task": "analytics.quarterly_reports_task",
        "schedule": crontab(minute=55),
    },
    # Daily e-mail digests: hourly, so each tenant's digest hour comes in its own time zone.
    "send-digests": {"task": "notifications.send_digests_task", "schedule": crontab(minute=15)},
    # Support mailboxes (IMAP): one fetch task per active mailbox.
    "poll-mailboxes": {
        "task": "inbound.poll_mailboxes_task",
        "schedule": float(INBOUND_MAIL_POLL_SECONDS),
    },
    # Stored files no row names (a process killed between write and commit); one task per
    # tenant, at night.
    "sweep-orphaned-files": {
        "task": "files.sweep_orphaned_files_task",
        "schedule": crontab(hour=4, minute=10),
    },
}
# The hour (0-23, the tenant's time zone) from which the daily e-mail digest of the day goes
# out (rma_portal/notifications/digests.py).
NOTIFICATION_DIGEST_HOUR = env.int("NOTIFICATION_DIGEST_HOUR", default=7)
if not 0 <= NOTIFICATION_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("NOTIFICATION_DIGEST_HOUR must be an hour from 0 to 23.")
# Stored files no row names are deleted by the sweep once this old (docs/operations.md).
FILES_ORPHAN_GRACE_HOURS = env.int("FILES_ORPHAN_GRACE_HOURS", default=24)
FILES_SWEEP_MAX_DELETIONS = env.int("FILES_SWEEP_MAX_DELETIONS", default=1000)
# The KPI dashboard's figures of today are built from the source tables and kept this many
# seconds per tenant and process (0: at every request).
KPI_TODAY_CACHE_SECONDS = env.int("KPI_TODAY_CACHE_SECONDS", default=60)
# A dashboard section of past days only is kept this long, or until a rollup is rebuilt.
KPI_PAST_CACHE_SECONDS = env.int("KPI_PAST_CACHE_SECONDS", default=3600)
# Webhook endpoints on private or loopback addresses are refused unless this is on.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
# Inbound e-mail (rma_portal/inbound): a message larger than this is not downloaded but recorded
# as refused; mailboxes' IMAP servers on private or loopback addresses are refused unless the
# second is on. How often beat polls them: INBOUND_MAIL_POLL_SECONDS, above.
INBOUND_MAIL_MAX_BYTES = env.int("INBOUND_MAIL_MAX_BYTES", default=35 * 1024 * 1024)
INBOUND_MAIL_ALLOW_PRIVATE_ADDRESSES = env.bool(
    "INBOUND_MAIL_ALLOW_PRIVATE_ADDRESSES", default=False
)
# A provider's signed POST of a message (Mailgun) older or newer than this many seconds is
# refused as a possible replay.
INBOUND_MAIL_HTTP_MAX_AGE_SECONDS = env.int("INBOUND_MAIL_HTTP_MAX_AGE_SECONDS", default=300)
# The drop folder: .eml files put there become messages of the drop-folder mailboxes. In the
# embedded mode the development server reads it every INBOUND_MAIL_DROP_FOLDER_SECONDS;
# `manage.py fetch_mail --drop-folder DIR` reads a folder once anywhere.
INBOUND_MAIL_DROP_FOLDER = env(
    "INBOUND_MAIL_DROP_FOLDER", default=str(VAR_DIR / "mail-in") if EMBEDDED else ""
)
INBOUND_MAIL_DROP_FOLDER_SECONDS = env.int("INBOUND_MAIL_DROP_FOLDER_SECONDS", default=5)
if INBOUND_MAIL_DROP_FOLDER_SECONDS < 1:
    raise ImproperlyConfigured("INBOUND_MAIL_DROP_FOLDER_SECONDS must be at least 1.")

# REST API v1 (docs/api.md): token or session auth, one error shape, pagination everywhere.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated request then answers 401 with WWW-Authenticate.
        "rma_portal.api.permissions.TenantTokenAuthentication",
        "rma_portal.api.permissions.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rma_portal.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "rma_portal.api.exceptions.ErrorShapeAutoSchema",
    "EXCEPTION_HANDLER": "rma_portal.api.exceptions.api_exception_handler",
    # OPTIONS: name, description, media types; the schema describes input (api/metadata.py).
    "DEFAULT_METADATA_CLASS": "rma_portal.api.metadata.ApiMetadata",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Password guessing through the token endpoint, per client address; and every request
    # per API key, user or (anonymous) address (docs/api.md#rate-limits).
    "DEFAULT_THROTTLE_CLASSES": [
        "rma_portal.api.throttling.ClientAddressScopedRateThrottle",
        "rma_portal.api.throttling.ApiRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"auth_token": "20/minute", "auth_token_account": "10/minute"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "RMA Portal API",
    "DESCRIPTION": (
        "Returns (RMA) and orders of one tenant. Every error has one shape; see docs/api.md."
    ),
    "VERSION": "1.0.0",
    # 3.1: its `webhooks` and its Schema Object (JSON Schema 2020-12) carry the webhook event
    # catalogue as it is (rma_portal/notifications/openapi.py, docs/webhooks.md).
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "rma_portal.notifications.openapi.add_webhooks",
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: the app must work offline
    # (docs/architecture.md#interfaces).
    "SWAGGER_UI_DIST": f"/{STATIC_URL.strip('/')}/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": f"/{STATIC_URL.strip('/')}/vendor/swagger-ui/favicon-32x32.png",
    # validatorUrl None: no badge calling validator.swagger.io from the browser.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # The `id` path converter (rma_portal/ids.py): an integer from 1 to bigint's largest.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1},
    },
    "ENUM_NAME_OVERRIDES": {
        "ReturnStatusEnum": "returns.models.ReturnStatus",
        "ResolutionEnum": "returns.models.Resolution",
        "ApprovalLevelEnum": "returns.models.ApprovalLevel",
        "DeliveryStatusEnum": "rma_portal.notifications.models.DeliveryStatus",
    },
}

# The number of proxies (nginx, load balancer) in front of the application. The client's
# address is the NUM_PROXIES-th entry from the right of X-Forwarded-For; with 0 the header is
# ignored. Throttles, sign-in lockout, the audit log and request logs all read it the same
# way (rma_portal/security/client.py, docs/security.md).
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES

# Security. Production values are on unless an environment variable says otherwise;
# docs/operations.md lists each one and why it is set.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Health checks (load balancer, container) call /healthz over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a one-way commitment for the whole domain; the operator opts in with
    # SECURE_HSTS_PRELOAD=true (docs/operations.md).
    "security.W021",
]

# Uploads (logos now; photos and documents of returns and complaints later).
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "keyvalue": {"()": "rma_portal.logging.KeyValueFormatter"},
    },
    # request_id=… on every line written while a request is answered (docs/operations.md).
    "filters": {
        "request_id": {"()": "rma_portal.request_id.RequestIdFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "keyvalue",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint logs every layout step at INFO; only its problems matter here.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

DEMO_PASSWORD = env("DEMO_PASSWORD", default="demo-pass-2026")

# --- Sign-in lockout (django-axes) -------------------------------------------------------

# Password guessing on /accounts/login/, /backoffice/login/ and the API token endpoint
# (docs/security.md#sign-in-lockout-and-client-addresses, rma_portal/security/lockout.py).
# Failed sign-ins are counted per account (the e-mail typed, normalised) and, separately, per
# client address (rma_portal/security/client.py, NUM_PROXIES). Once either count within
# LOGIN_LOCKOUT_MINUTES reaches its limit, every sign-in for that account or from that address
# is refused, even with the right password, until LOGIN_LOCKOUT_MINUTES after the last counted
# failure. A new password (the reset link) or a tenant admin (back-office users, "Lift sign-in
# lockout") lifts an account's lockout at once.
# - 5 per account: room for typos and a forgotten Caps Lock; at most a few hundred guesses a
#   day against one account, whatever the number of addresses used.
# - 20 per address: people of one customer company often share an office address.
# - 15 minutes: guessing stays slow, and a locked-out person can wait rather than call support.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_COOLOFF_TIME = "rma_portal.security.lockout.cool_off_time"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# axes' database handler with the address's own limit; the counts are rows of the database,
# so they hold across processes and survive a Redis outage.
AXES_HANDLER = "rma_portal.security.lockout.LockoutHandler"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "rma_portal.security.lockout.axes_username"
AXES_CLIENT_IP_CALLABLE = "rma_portal.security.client.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "rma_portal.security.lockout.lockout_response"
# Attempts refused while locked out count no failure: the lockout ends at the time the page
# gives, and retrying does not push it back.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A successful sign-in does not clear the counts: clearing the address's count would let anyone
# with one valid account reset it between guesses at other accounts. Failures stop counting
# after the cool-off anyway.
AXES_RESET_ON_SUCCESS = False
# Sign-ins and failed sign-ins are in the audit log (rma_portal/security/signals.py); the only
# way to lift a lockout by hand is the audited back-office action.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# --- Content-Security-Policy and cache headers (django-csp) ------------------------------

# One policy for every answer (docs/security.md#content-security-policy). Scripts and
# stylesheets come only from our own origin (static files, the vendored Chart.js and Swagger
# UI); an inline <script> or <style> runs only with the nonce django-csp makes per request
# (`request.csp_nonce`), so markup an attacker slips into a page cannot run or restyle it.
# No 'unsafe-inline', no 'unsafe-eval'. Answers that set their own policy keep it (stored
# files: "default-src 'none'; sandbox", rma_portal/files/responses.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF, csp_constants.NONCE],
        # Inline style attributes stay blocked: Chart.js, Swagger UI and the admin's scripts
        # set styles through the DOM (element.style), which the policy does not govern.
        "style-src": [csp_constants.SELF, csp_constants.NONCE],
        # Named although default-src says the same: Swagger UI's page adds data: here for the
        # icons embedded in its stylesheet (rma_portal/api/urls.py), no other page needs it.
        "img-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.NONE],
        "form-action": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
    },
}

# Signed-in answers and every answer under /api/ are sent with "Cache-Control: private,
# no-store" (rma_portal/security/headers.py), unless the view chose its own caching.

# The OpenAPI schema and Swagger UI need a signed-in tenant user or an API token; true opens
# them to everyone (e.g. a public developer portal).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)

# --- Two-factor sign-in, sessions and passwords (django-otp) ------------------------------

# Two-factor sign-in (docs/security.md#two-factor-sign-in): a code from an authenticator app
# (TOTP) or a single-use recovery code after the password. Tenants require it of their staff
# (Tenant.staff_two_factor_required); this requires it of platform superusers.
PLATFORM_TWO_FACTOR_REQUIRED = env.bool("PLATFORM_TWO_FACTOR_REQUIRED", default=False)
# After a correct password the code is awaited this many seconds, and at most this many wrong
# codes, before the password must be entered again.
TWO_FACTOR_PENDING_SECONDS = 300
TWO_FACTOR_MAX_ATTEMPTS = 5
TWO_FACTOR_RECOVERY_CODES = 10
# The name authenticator apps show next to the code.
OTP_TOTP_ISSUER = "RMA Portal"

# A session ends SESSION_LIFETIME_HOURS after it was last saved (signing in saves it); the
# session key changes at every sign-in; a password change or "sign out everywhere" ends the
# user's other sessions (User.get_session_auth_hash).
SESSION_COOKIE_AGE = env.int("SESSION_LIFETIME_HOURS", default=12) * 3600
SESSION_COOKIE_SAMESITE = "Lax"

# Passwords: a minimum length, not like the e-mail or name, not one of Django's list of
# 20,000 common and breached passwords (checked offline), not only digits.
PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=12)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Personal API tokens ------------------------------------------------------------------

# Personal API tokens (`Authorization: Token <key>`, docs/security.md#personal-api-tokens). A
# new token lives API_TOKEN_DEFAULT_DAYS unless its user asks for fewer or more days, at most
# API_TOKEN_MAX_DAYS; a user holds at most API_TOKEN_MAX_ACTIVE usable tokens at once. A
# token's "last used" time is written at most once per API_TOKEN_LAST_USED_INTERVAL seconds,
# not at every request.
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
API_TOKEN_MAX_ACTIVE = env.int("API_TOKEN_MAX_ACTIVE", default=20)
API_TOKEN_LAST_USED_INTERVAL = env.int("API_TOKEN_LAST_USED_INTERVAL", default=60)
if not 1 <= API_TOKEN_DEFAULT_DAYS <= API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured("API_TOKEN_DEFAULT_DAYS must be between 1 and API_TOKEN_MAX_DAYS.")
if API_TOKEN_MAX_ACTIVE < 1:
    raise ImproperlyConfigured("API_TOKEN_MAX_ACTIVE must be at least 1.")
# API requests per minute of a client without valid credentials, per address (a tenant's keys
# and users have the tenant's own limit, Tenant.api_rate_limit_per_minute).
API_ANONYMOUS_RATE_LIMIT_PER_MINUTE = env.int("API_ANONYMOUS_RATE_LIMIT_PER_MINUTE", default=60)
