"""Settings for RMA Portal, read from environment variables.

With nothing set you get the embedded default (SQLite under var/, eager Celery tasks,
file email); production differs only through environment variables (see docs/operations.md).
"""

from pathlib import Path

import environ
from celery.schedules import crontab
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
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_fsm",
    # platform
    "rma_portal.tenancy",
    "rma_portal.accounts",
    "rma_portal.notifications",
    # domain
    "customers",
    "returns",
    "complaints",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "rma_portal.tenancy.middleware.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")

# Cache keys carry the tenant (see rma_portal.tenancy.cache.make_key).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="rma"),
            "KEY_FUNCTION": "rma_portal.tenancy.cache.make_key",
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
AUTHENTICATION_BACKENDS = ["rma_portal.accounts.backends.RoleBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("pl", _("Polish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Warsaw"
USE_I18N = True
USE_TZ = True

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

# Celery: eager in-process in embedded mode, Redis broker otherwise.
CELERY_BROKER_URL = REDIS_URL or "memory://"
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
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Rows whose enqueue was lost (broker down, worker killed) are sent by the sweep.
    "sweep-outbox": {"task": "notifications.sweep_outbox_task", "schedule": 60.0},
    # SLA "at risk" / "breached" notices: at most five minutes late, each sent once.
    "scan-sla": {"task": "complaints.scan_sla_task", "schedule": 300.0},
    # Resolved cases left alone for the tenant's auto-close days (in CELERY_TIMEZONE, at night).
    "auto-close-complaints": {
        "task": "complaints.auto_close_complaints_task",
        "schedule": crontab(hour=3, minute=15),
    },
    "auto-close-returns": {
        "task": "returns.auto_close_returns_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # KPI rollups, one task per tenant: days changed since the last run, and yesterday once
    # the tenant's own day is over (hourly, so every time zone gets its night).
    "kpi-rollups": {"task": "analytics.rollups_task", "schedule": crontab(minute=20)},
    # Last month's PDF report to managers and tenant admins, from 06:00 on each tenant's 1st.
    "monthly-kpi-reports": {
        "task": "analytics.monthly_reports_task",
        "schedule": crontab(minute=50),
    },
}
# The KPI dashboard's figures of today are built from the source tables and kept this many
# seconds per tenant and process (0: at every request).
KPI_TODAY_CACHE_SECONDS = env.int("KPI_TODAY_CACHE_SECONDS", default=60)
# Webhook endpoints on private or loopback addresses are refused unless this is on.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)

# REST API v1 (docs/api.md): token or session auth, one error shape, pagination everywhere.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated request then answers 401 with WWW-Authenticate.
        "rma_portal.api.permissions.TenantTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rma_portal.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "rma_portal.api.exceptions.ErrorShapeAutoSchema",
    "EXCEPTION_HANDLER": "rma_portal.api.exceptions.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Password guessing through the token endpoint, per client address.
    "DEFAULT_THROTTLE_RATES": {"auth_token": "20/minute"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "RMA Portal API",
    "DESCRIPTION": (
        "Returns (RMA) and orders of one tenant. Every error has one shape; see docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: the app must work offline
    # (docs/architecture.md#interfaces).
    "SWAGGER_UI_DIST": f"/{STATIC_URL.strip('/')}/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": f"/{STATIC_URL.strip('/')}/vendor/swagger-ui/favicon-32x32.png",
    # validatorUrl None: no badge calling validator.swagger.io from the browser.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "ReturnStatusEnum": "returns.models.ReturnStatus",
        "ResolutionEnum": "returns.models.Resolution",
    },
}

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
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "keyvalue"},
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
