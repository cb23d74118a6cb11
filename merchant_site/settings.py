"""Settings for the merchant site.

Every value comes from the environment, read once through one ``environ.Env``
(a ``.env`` file beside manage.py is read when present; ``.env.example`` lists
all of them). With ``DEBUG`` on, the site runs on embedded defaults: SQLite, a
local-memory cache and the built-in i'mport sandbox. With ``DEBUG`` off it
refuses to start without a secret key, real i'mport keys and allowed hosts.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_noop

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# There is no other switch to the development defaults: the test suite's settings
# (merchant_site/test_settings.py) are the production ones, completed with test values under pytest.

# Only ever used with DEBUG on; refused as a production key.
DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105


def _refuse_weak_secret_key(key: str) -> None:
    """Refuse what Django's deploy check warns about (security.W009), and the development key."""
    if len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure") or key == DEV_SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for DEBUG off: use at least 50 random characters, not the development "
            "key nor a 'django-insecure' one (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    _refuse_weak_secret_key(SECRET_KEY)
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
    if any("*" in host for host in ALLOWED_HOSTS):
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must name the site's hosts when DEBUG is off, not a wildcard '*' "
            "('.example.com' allows a domain and its subdomains)."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "billing",
    "subscriptions",
]

MIDDLEWARE = [
    # First: a NUL or non-UTF-8 bytes in the path or query string is a 400 before anything reads them.
    "billing.middleware.RejectMalformedRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "merchant_site.urls"

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
                "billing.context_processors.billing",
            ],
        },
    },
]

WSGI_APPLICATION = "merchant_site.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Two processes writing at once (two renewal passes, the site and a worker): each transaction takes
    # the write lock when it begins and waits for it, instead of failing with "database is locked" when
    # a read turns into a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(transaction_mode="IMMEDIATE", timeout=30)
# PostgreSQL only: a psycopg connection pool of at most this many connections per process, instead of one
# persistent connection per thread (many gunicorn threads would exhaust max_connections). 0 = no pool.
DATABASE_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=0)
if DATABASE_POOL_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's pool requires it
    # Django's backend, checking each lent connection by its socket instead of by a query per borrow.
    DATABASES["default"]["ENGINE"] = "merchant_site.pooled_postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DATABASE_POOL_SIZE),
        "max_size": DATABASE_POOL_SIZE,
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }

# The access token lives here: with Redis, all workers of a deployment share one token.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Django's backend with one Redis client per pool instead of one per operation (see the module).
    CACHES["default"]["BACKEND"] = "merchant_site.redis_cache.RedisCache"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Korean first: every customer is in Korea. English for a browser that asks for it, or the switch on
# every page. Catalogues: billing/locale (the app's) and locale/ (the site's), compiled .mo files shipped.
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", gettext_noop("Korean")), ("en", gettext_noop("English"))]  # named in the page's language
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "billing:card-list"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- HTTPS behind the TLS proxy: on by default when DEBUG is off, each one configurable -------------
# The proxy must set X-Forwarded-Proto itself (overwriting any sent by the client).
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("SECURE_PROXY_SSL_HEADER", default=not DEBUG) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers check the health over plain HTTP: never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)

# --- billing: one dict (billing.conf reads it; docs/settings.md lists every key) --------------------
# The environment variable names are the demo site's; a host project fills BILLING its own way.
IAMPORT_PRODUCTION_URL = "https://api.iamport.kr"
_iamport_api_url = env.str("IAMPORT_API_URL", default=IAMPORT_PRODUCTION_URL)
_iamport_api_key = env.str("IAMPORT_API_KEY", default="")
_iamport_api_secret = env.str("IAMPORT_API_SECRET", default="")
_have_keys = bool(_iamport_api_key and _iamport_api_secret)
if not DEBUG and not _have_keys:
    raise ImproperlyConfigured("IAMPORT_API_KEY and IAMPORT_API_SECRET must be set when DEBUG is off.")
if DEBUG and not _have_keys:
    # No keys in DEBUG: the built-in sandbox answers in-process; or, when IAMPORT_API_URL names another
    # address (a sandbox served by `manage.py iamport_sandbox`), that one, with the sandbox's credentials.
    # Never in production.
    _iamport_api_key = "sandbox_key"
    _iamport_api_secret = "sandbox_secret"  # noqa: S105 - the sandbox's published test secret

BILLING = {
    "API_URL": _iamport_api_url,
    "API_KEY": _iamport_api_key,
    "API_SECRET": _iamport_api_secret,
    "PG": env.str("IAMPORT_PG", default=""),
    "CHANNEL_KEY": env.str("IAMPORT_CHANNEL_KEY", default=""),
    "CONNECT_TIMEOUT": env.float("IAMPORT_CONNECT_TIMEOUT", default=3.05),
    # Card companies can take several seconds to answer a billing-key request.
    "READ_TIMEOUT": env.float("IAMPORT_READ_TIMEOUT", default=30.0),
    "POOL_SIZE": env.int("IAMPORT_POOL_SIZE", default=32),
    "SANDBOX": DEBUG and not _have_keys and _iamport_api_url == IAMPORT_PRODUCTION_URL,
    # Where the in-process sandbox keeps its state between restarts of the dev server.
    "SANDBOX_STATE": env.str("IAMPORT_SANDBOX_STATE", default=str(BASE_DIR / "iamport_sandbox.sqlite3")),
    # A billing key whose registration timed out is only declared failed once i'mport has had this long.
    "UNKNOWN_GRACE_SECONDS": env.int("IAMPORT_UNKNOWN_GRACE_SECONDS", default=300),
    "WEBHOOK_ALLOWED_IPS": env.list("IAMPORT_WEBHOOK_ALLOWED_IPS", default=[]),
    # Where i'mport should send payment notifications (notice_url); empty uses the console setting.
    "NOTICE_URL": env.str("IAMPORT_NOTICE_URL", default=""),
    # The merchant's plan: what the card form's "pay now" charges. Never an amount the customer types.
    "FIRST_PAYMENT_AMOUNT": env.int("BILLING_FIRST_PAYMENT_AMOUNT", default=9900),
    # Shown through the catalogue ({% translate %}), so the default reads in the page's language.
    "FIRST_PAYMENT_NAME": env.str("BILLING_FIRST_PAYMENT_NAME", default=gettext_noop("Monthly plan")),
    # Throttles (an empty variable turns one off). Password checks count every attempt, the right one too.
    "RATES": {
        "registration_user": env.str("REGISTRATION_RATE_PER_USER", default="10/hour") or None,
        "registration_address": env.str("REGISTRATION_RATE_PER_ADDRESS", default="60/hour") or None,
        "token_address": env.str("TOKEN_RATE_PER_ADDRESS", default="20/minute") or None,
        "login_address": env.str("LOGIN_RATE_PER_ADDRESS", default="20/minute") or None,
        "login_account": env.str("LOGIN_RATE_PER_ACCOUNT", default="10/hour") or None,
        "signup_address": env.str("SIGNUP_RATE_PER_ADDRESS", default="10/hour") or None,
    },
    # Repeated refusals slow a user further: past REFUSALS_FREE refused registrations within the window,
    # each new attempt waits REFUSAL_COOLDOWN seconds, doubled per extra refusal (at most the window).
    # A cool-down of 0 turns it off.
    "REFUSALS_FREE": env.int("REGISTRATION_REFUSALS_FREE", default=3),
    "REFUSAL_COOLDOWN": env.int("REGISTRATION_REFUSAL_COOLDOWN", default=30),
    "REFUSAL_WINDOW": env.int("REGISTRATION_REFUSAL_WINDOW", default=3600),
    # Proxies in front of the site that append to X-Forwarded-For; 0 = use the peer address only,
    # so a client cannot pick its own address for the per-address throttles.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    # How long an Idempotency-Key is remembered (seconds).
    "IDEMPOTENCY_RETENTION": env.int("IDEMPOTENCY_RETENTION", default=24 * 3600),
    # How long a request holds its Idempotency-Key before a retry may take over (a crashed process).
    "IDEMPOTENCY_LEASE": env.int("IDEMPOTENCY_LEASE", default=120),
    # Seconds an API token's user is kept in the cache instead of read per call (0: read every call).
    # Deleting a token or saving its user drops it at once; a QuerySet.update() counts after this long.
    "API_TOKEN_CACHE_SECONDS": env.int("API_TOKEN_CACHE_SECONDS", default=60),
    # At most this many calls per second to i'mport from every process together (shared through the
    # Redis cache); a call over it waits its turn. Empty: no limit.
    "MAX_CALLS_PER_SECOND": float(_max_calls)
    if (_max_calls := env.str("IAMPORT_MAX_CALLS_PER_SECOND", default=""))
    else None,
}

# Only what the API docs need: billing's views set their own authentication, permissions, throttles,
# parsers and exception handler (billing.api.base), so they behave the same whatever a host sets here.
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}

# --- Subscriptions and the renewal engine (subscriptions/) -----------------------------------------
# Days after a renewal's first failed charge on which it is retried; after the last, dunning ends.
SUBSCRIPTION_RETRY_DAYS = [float(day) for day in env.list("SUBSCRIPTION_RETRY_DAYS", default=["1", "3", "5"])]
# When dunning ends without a payment: cancel the subscription (on), or leave it past_due (off).
SUBSCRIPTION_CANCEL_AFTER_DUNNING = env.bool("SUBSCRIPTION_CANCEL_AFTER_DUNNING", default=True)
# How long an engine process holds a renewal it is charging (wall clock): longer than a charge can take.
SUBSCRIPTION_CLAIM_SECONDS = env.int("SUBSCRIPTION_CLAIM_SECONDS", default=120)
# i'mport unreachable (nothing charged): try the same attempt again after this many minutes.
SUBSCRIPTION_UNAVAILABLE_RETRY_MINUTES = env.int("SUBSCRIPTION_UNAVAILABLE_RETRY_MINUTES", default=10)

# Celery: empty CELERY_BROKER_URL runs every task in-process (make run and the tests need nothing else).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Where the wait is: a charge waits on a card company for about a second, so a worker holds many in flight
# on threads (docs/engine.md says why threads and not gevent). Give each worker IAMPORT_POOL_SIZE >= this
# and DATABASE_POOL_SIZE (a few connections: a charge gives its connection back while i'mport answers).
CELERY_WORKER_POOL = env.str("CELERY_WORKER_POOL", default="threads")
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=200)
CELERY_TASK_IGNORE_RESULT = True
# A task not acknowledged within the visibility timeout is handed to another worker: far longer than any
# task (a charge is bounded by i'mport's read timeout plus a check), and tasks carry no ETA (the sweep
# claims due work from the database), so nothing waits in the broker for longer than a queue drains.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "subscriptions-sweep": {"task": "subscriptions.tasks.sweep", "schedule": 60.0},
    # billing's drift checks (billing.tasks): the short pass often, the full comparison daily at 04:00 Seoul.
    "billing-reconcile-short": {"task": "billing.tasks.reconcile_short", "schedule": 300.0},
    "billing-reconcile-full": {"task": "billing.tasks.reconcile_full", "schedule": crontab(hour=4, minute=0)},
}
# The sweep holds a lock in the broker's Redis for this long at most, so that two beats (or a beat and
# ``renew_due --enqueue``) never sweep at once; a sweep that dies leaves it to expire.
SUBSCRIPTION_SWEEP_LOCK_SECONDS = env.int("SUBSCRIPTION_SWEEP_LOCK_SECONDS", default=600)
# Rows per query when the sweep walks due renewals and periods to open (keyset pagination).
SUBSCRIPTION_SWEEP_BATCH = env.int("SUBSCRIPTION_SWEEP_BATCH", default=1000)
# A renewal the sweep sent to the broker is not sent again for this long (a task lost with the broker is
# sent again after it); longer than the queue takes to drain, or the backlog gets duplicates (harmless).
SUBSCRIPTION_QUEUED_SECONDS = env.int("SUBSCRIPTION_QUEUED_SECONDS", default=3 * 3600)

SPECTACULAR_SETTINGS = {
    "TITLE": "Billing-key registration API",
    "DESCRIPTION": "Register customers' cards for recurring payment through i'mport, and charge them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "BillingKeyStatusEnum": "billing.models.BillingKey.Status",
        "CardTypeEnum": "billing.models.BillingKey.CardType",
        "PaymentStatusEnum": "billing.models.Payment.Status",
    },
}

DEFAULT_EXCEPTION_REPORTER_FILTER = "billing.reporting.CardSafeExceptionReporterFilter"

# --- Logging: card data never reaches a handler (see billing.logging_filters) --------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_card_data": {"()": "billing.logging_filters.RedactCardData"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_card_data"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Replaces Django's own handlers for its loggers, which would print tracebacks unfiltered.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
