"""Django settings, read from the environment (django-environ).

Development defaults are safe and need nothing set: `make run` and `make test`
fill DATABASE_URL and CELERY_BROKER_URL from the embedded services. With
DJANGO_ENV=production the process refuses to start unless the variables in
PRODUCTION_REQUIRED are set explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for developers; the real environment wins.
env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
TESTING = env.bool("TESTING", default=False)

PRODUCTION_REQUIRED = ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS")
if PRODUCTION:
    missing = [name for name in PRODUCTION_REQUIRED if not os.environ.get(name)]
    if missing:
        raise ImproperlyConfigured("DJANGO_ENV=production needs these environment variables: " + ", ".join(missing))

DEBUG = env.bool("DEBUG", default=not PRODUCTION and not TESTING)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-used-in-production")

PLATFORM_DOMAIN = env.str("PLATFORM_DOMAIN", default="localhost")
# Optional SIRENE lookup (INSEE API Sirene 3.11, e.g. https://api.insee.fr/api-sirene/3.11); empty = off.
SIRENE_API_URL = env.str("SIRENE_API_URL", default="")
SIRENE_API_KEY = env.str("SIRENE_API_KEY", default="")
SIRENE_TIMEOUT = env.float("SIRENE_TIMEOUT", default=3.0)
# Links in e-mails sent outside a request (letters, reminders, surveys): scheme and port of the firms' hosts.
SITE_SCHEME = env.str("SITE_SCHEME", default="https" if PRODUCTION else "http")
SITE_PORT = env.str("SITE_PORT", default="" if PRODUCTION else "8000")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[PLATFORM_DOMAIN, f".{PLATFORM_DOMAIN}", "127.0.0.1"])

# --- Applications -----------------------------------------------------------
# Shared apps live in the public schema (tenants, platform operators, beat).
# Tenant apps are created in every firm's schema: each firm has its own users.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "tenants.saas",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "django_filters",
    "csp",
    "core",
    "config",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "accounts",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "core",
    "firm",
    "mediation",
    "mediation.members",
    "mediation.cases",
    "mediation.reports",
    "mediation.compliance",
    "billing",
    "public_site",
    "integrations",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
# `SET search_path` once per connection and tenant switch, not before every query (it doubled the round
# trips of a request). Needs a connection that keeps its session: direct, or PgBouncer in session mode.
# PgBouncer's transaction mode is unsafe with either value (docs/scaling.md, tests/infra/test_pgbouncer.py).
TENANT_LIMIT_SET_CALLS = env.bool("TENANT_LIMIT_SET_CALLS", default=True)
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False

MIDDLEWARE = [
    # First: the request id (X-Request-ID, logs, Sentry tag) and the access log line, for every request.
    "core.request_id.RequestIdMiddleware",
    # Counts requests by view (route name) and answers /metrics before tenant resolution and before the
    # HTTPS redirect (in-cluster scrapes are plain HTTP); docs/observability.md.
    "core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files and /health/ need no tenant: they answer before tenant
    # resolution touches the database (probes send no tenant host and must get
    # a 503, not a crash, when the database is down).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.HealthCheckMiddleware",
    "tenants.middleware.CachedTenantMainMiddleware",
    "core.middleware.TenantContextMiddleware",
    "tenants.middleware.SuspendedFirmMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.FirmActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After allauth's AccountMiddleware: a firm that requires MFA sends staff without TOTP to its activation page.
    "accounts.middleware.RequireMfaMiddleware",
    # Ends a platform support session when its grant expires or is revoked (tenants.support).
    "accounts.middleware.SupportSessionMiddleware",
    # Last: it replays an API POST's kept answer, after every check above has run on the retry too.
    "core.idempotency.IdempotencyMiddleware",
]

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
                "core.context_processors.tenant",
                "firm.context_processors.branding",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Database ---------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/mediation")}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
# A unix-socket directory arrives percent-encoded in the URL host.
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST") or "")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if PRODUCTION else 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------
# Keys carry the tenant schema so that rate limits and TOTP replay markers are
# never shared between firms.
REDIS_URL = env.str("REDIS_URL", default="")
# The cache takes its own Redis database (REDIS_URL's server, database 1 by
# default): clearing the cache must never flush the Celery broker's queues.
CACHE_URL = env.str("CACHE_URL", default=urlsplit(REDIS_URL)._replace(path="/1").geturl() if REDIS_URL else "")
_cache_common = {
    "KEY_FUNCTION": "django_tenants.cache.make_key",
    "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
}
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL, **_cache_common}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", **_cache_common}}

# --- Rate limits (core.throttle; docs/rate_limits.md) ------------------------
# Counted in the cache: use Redis in production (a locmem cache counts per process).
RATE_LIMITS_ENABLED = env.bool("RATE_LIMITS_ENABLED", default=True)
# Proxies in front of Django that append to X-Forwarded-For (0: trust REMOTE_ADDR only). Production runs
# behind one (an ingress or load balancer: SECURE_PROXY_SSL_HEADER below assumes it too).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if PRODUCTION else 0)
# "N/period" (s, m, h, d; "5/15m" = 5 per 15 minutes); an empty value switches a scope off.
PUBLIC_RATE_LIMITS = {
    "public_filing": env.str("RATE_PUBLIC_FILING", default="30/m") or None,
    "public_filing_resume": env.str("RATE_PUBLIC_FILING_RESUME", default="30/h") or None,
    "public_party_login": env.str("RATE_PUBLIC_PARTY_LOGIN", default="10/10m") or None,
    "public_lookup": env.str("RATE_PUBLIC_LOOKUP", default="60/m") or None,
    "public_badge": env.str("RATE_PUBLIC_BADGE", default="300/m") or None,
    "public_joining": env.str("RATE_PUBLIC_JOINING", default="30/m") or None,
}

# --- Accounts (django-allauth, per tenant) ----------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
# Staff accounts are created by invitation: an unknown address gets no mail at
# all (the page still answers the same, so nothing is disclosed).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Médiation")
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "staff:home"
# Cookies stay host-only: a shared parent domain would let one firm's login
# affect another firm's session.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- E-mail -----------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"noreply@{PLATFORM_DOMAIN}")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".local" / "media")
MEDIA_URL = "/media/"
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The token first: its `WWW-Authenticate` challenge makes an unauthenticated call a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_METADATA_CLASS": "core.api_metadata.ApiMetadata",
    # Per token (or session user, or IP for anonymous calls); read at import time by DRF's APIView.
    "DEFAULT_THROTTLE_CLASSES": ["core.throttle.ApiTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env.str("RATE_API", default="1000/h") or None},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mediation platform API",
    "DESCRIPTION": "API of a mediation firm's space. Every call is scoped to the firm of the host it is sent to.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status`: each keeps its own, stable enum name.
    "ENUM_NAME_OVERRIDES": {
        "MemberStatusEnum": "mediation.members.models.Member.Status",
        "MembershipTermStatusEnum": "mediation.members.api.filters.TermStatus.CHOICES",
        "AnnualReportStatusEnum": "mediation.reports.api.serializers.REPORT_STATUSES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.add_shared_api_behaviour",
    ],
}

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "redis://127.0.0.1:6379/0")
# Redis (or Valkey) brokers keep the results too; RabbitMQ has no result store: REDIS_URL if set, else rpc://.
_BROKER_KEEPS_RESULTS = CELERY_BROKER_URL.startswith(("redis://", "rediss://", "valkey://", "unix://"))
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL if _BROKER_KEEPS_RESULTS else (REDIS_URL or "rpc://")
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redelivery after a lost worker happens after this many seconds: longer than
# the longest task, far shorter than Redis' one-hour default.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900)}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
HEARTBEAT_INTERVAL_SECONDS = env.int("HEARTBEAT_INTERVAL_SECONDS", default=300)

# --- Security ---------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): every script is a file of ours (no inline script, no eval), styles are
# our stylesheets (style attributes allowed: the report's bars are sized by one), no frame anywhere, forms post
# to us and may be redirected to Stripe's hosted pages (Checkout, Connect onboarding, the customer portal).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": [
            "'self'",
            "https://checkout.stripe.com",
            "https://connect.stripe.com",
            "https://billing.stripe.com",
        ],
    }
}
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Logging: JSON in production, text in development; tenant, request id, user on every line ----------
from core.logging import build_logging  # noqa: E402 (imports no Django model)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
LOGGING = build_logging(format=LOG_FORMAT, level=LOG_LEVEL)

# --- Metrics (core.metrics, docs/observability.md) ---------------------------
# Set in production: /metrics then answers only `Authorization: Bearer <METRICS_TOKEN>` (on any host);
# unset, it answers on the platform host only. Anything else gets a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Seconds each process keeps the webhook-outbox count (one query per 200 firm schemas).
METRICS_OUTBOX_CACHE_SECONDS = env.int("METRICS_OUTBOX_CACHE_SECONDS", default=30)
# Extra Celery queues whose length /metrics reports (the default queue is always reported).
METRICS_CELERY_QUEUES = env.list("METRICS_CELERY_QUEUES", default=[])

# --- Sentry: only when a DSN is given --------------------------------------
# Release: SENTRY_RELEASE, else GIT_SHA (the image's commit); tags: tenant, request_id.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.observability import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=DJANGO_ENV)
HEALTH_WORKER_TIMEOUT = env.float("HEALTH_WORKER_TIMEOUT", default=1.0)
# Spare firm schemas kept ready for instant signups (tenants.provisioning).
TENANT_POOL_SIZE = env.int("TENANT_POOL_SIZE", default=2)
# Seconds each process remembers which firm a host belongs to (tenants.middleware); 0 = ask the database each time.
TENANT_HOST_CACHE_SECONDS = env.int("TENANT_HOST_CACHE_SECONDS", default=30)
# migrate_schemas skips schemas that already have every migration (tenants.migration_executor).
GET_EXECUTOR_FUNCTION = "tenants.migration_executor.get_executor"
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("TENANT_MULTIPROCESSING_MAX_PROCESSES", default=2)
# Days between closing a firm (its data exported) and dropping its schema.
FIRM_CLOSURE_GRACE_DAYS = env.int("FIRM_CLOSURE_GRACE_DAYS", default=30)

# --- SaaS billing of firms (the platform's own Stripe account, tenants.saas) ---
# Empty key: the firm's subscription page says online payment is not configured.
PLATFORM_STRIPE_SECRET_KEY = env.str("PLATFORM_STRIPE_SECRET_KEY", default="")
PLATFORM_STRIPE_WEBHOOK_SECRET = env.str("PLATFORM_STRIPE_WEBHOOK_SECRET", default="")
# Signing secret of the Connect endpoint https://<PLATFORM_DOMAIN>/stripe/connect/webhook/ (firms' accounts).
STRIPE_CONNECT_WEBHOOK_SECRET = env.str("STRIPE_CONNECT_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)

# --- Outgoing webhooks (integrations) ---------------------------------------
# In production a firm's webhook URL must not point into our own network (SSRF): loopback, private,
# link-local and reserved addresses are refused unless this is set. Development and tests post to localhost.
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=not PRODUCTION)
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
