"""Settings, read from the environment.

With nothing set, Sprintplan runs on the embedded default: SQLite in var/, Celery tasks
run in-process after commit. Set DATABASE_URL and REDIS_URL for PostgreSQL + Redis +
real workers (see README, "Configuration").
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SPRINTPLAN_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def local_secret_key() -> str:
    """A key kept in var/ for a local checkout, so no key ever sits in the repository."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or ""
if not SECRET_KEY:
    if env_bool("REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY must be set in production (REQUIRE_SECRET_KEY=1).")
    SECRET_KEY = local_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "sprintplan",
    "accounts",
    "teams",
    "sprints",
    "tickets",
    "dependencies",
    "planning",
    "quality",
    "integrations",
    "imports",
    "notifications",
    "ceremonies",
    "programs",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside everything below, so that every error answer under /api/ becomes JSON.
    "sprintplan.middleware.ApiErrorMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into its 429 answer.
    "axes.middleware.AxesMiddleware",
    # Only passes the request on; it keeps the chain in one thread under ASGI (see there).
    "sprintplan.middleware.OneThreadPerRequest",
]

ROOT_URLCONF = "web.urls"
WSGI_APPLICATION = "sprintplan.wsgi.application"
ASGI_APPLICATION = "sprintplan.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The project-wide templates ship inside the package (sprintplan/templates), so an
        # installed wheel finds them; listed here so they keep precedence over the apps'.
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Health checks: a persistent connection that the server dropped (restart, terminated
    # backend) is noticed and replaced at the start of a request instead of failing it.
    DATABASES = {
        # Workers keep their connection a minute. The ASGI live service sets DB_CONN_MAX_AGE=0
        # (deploy/, docker-compose): there a connection belongs to one request's context, so
        # a kept one would only wait for the garbage collector.
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Short OLTP queries only: compiling them (JIT) costs more than it saves; the
        # recursive graph reads used to switch it off statement by statement.
        # The session speaks UTC from the start: Django would otherwise send SET TIME ZONE on
        # every new connection, which the ASGI live service opens once per request.
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off -c TimeZone=UTC"
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and (
        DATABASES["default"]["CONN_MAX_AGE"] == 0
    ):
        # Where a connection lives as long as its request (the ASGI live service), it comes
        # from a pool per process and goes back to it at the request's end, instead of a
        # PostgreSQL backend started and ended per request (~3.5 ms, cold catalog caches).
        # django-db-connection-pool: Django's own pool needs psycopg 3. A process that keeps
        # its connection (workers, WSGI) keeps Django's persistent connection: a pool there
        # would only lend connections to threads that may end without handing them back.
        DATABASES["default"]["ENGINE"] = "dj_db_conn_pool.backends.postgresql"
        DATABASES["default"]["POOL_OPTIONS"] = {
            "POOL_SIZE": env_int("DB_POOL_SIZE", 8),
            "MAX_OVERFLOW": env_int("DB_POOL_OVERFLOW", 8),
            "PRE_PING": True,  # a connection the server dropped is replaced, not used
            "RECYCLE": 900,
            "TIMEOUT": 10,  # seconds a request waits for a free connection
        }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "sprintplan.sqlite3",
            "OPTIONS": {
                # WAL lets pages read while a write is under way; synchronous=NORMAL is
                # the documented safe pairing with WAL (durable at each checkpoint).
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                # IMMEDIATE takes the write lock when a transaction starts, so concurrent
                # writers queue on the busy timeout instead of failing with "database is
                # locked" when a deferred transaction tries to upgrade its read lock.
                "transaction_mode": "IMMEDIATE",
                "timeout": float(os.environ.get("SQLITE_BUSY_TIMEOUT", "20")),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Redis, cache and Celery -----------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Redis is a kick, never a wall (sprintplan.redis_guard): every call gives up after this
# many seconds to connect or to answer, and after a failure a process leaves Redis alone
# for REDIS_BACKOFF_SECONDS. The database markers are the truth; beat catches up.
REDIS_TIMEOUT_SECONDS = float(os.environ.get("REDIS_TIMEOUT_SECONDS", "0.5"))
REDIS_BACKOFF_SECONDS = float(os.environ.get("REDIS_BACKOFF_SECONDS", "5"))
# Seconds between PINGs on an idle pooled connection, so one that Redis dropped while
# restarting is replaced before a request uses it.
REDIS_HEALTH_CHECK_SECONDS = 25
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "sprintplan.redis_pool.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "sprintplan"),
            "TIMEOUT": 300,
            "OPTIONS": {
                "pool_class": "sprintplan.redis_pool.SharedConnectionPool",
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "health_check_interval": REDIS_HEALTH_CHECK_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
if REDIS_URL:
    # kombu's Redis transport with the repair that keeps a worker alive across a Redis
    # restart (see sprintplan/broker.py).
    CELERY_BROKER_TRANSPORT = "sprintplan.broker:Transport"
# No broker configured: run tasks in-process (they are enqueued on commit, so they
# still see committed data).
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "sprintplan")
# The insight recompute has a queue of its own: served by one worker process, it keeps the
# dependency graph in memory between runs (dependencies.mirror). Pool processes taking turns
# at it would each find their copy stale. A worker started without -Q consumes both queues.
GRAPH_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}.graph"
# Long computations (the sprint and PI forecasts' Monte Carlo) have a queue of their own,
# served by one process at low CPU priority (`nice`), so web requests keep the CPU.
BACKGROUND_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}.background"
CELERY_TASK_QUEUES = (
    Queue(CELERY_TASK_DEFAULT_QUEUE),
    Queue(GRAPH_QUEUE),
    Queue(BACKGROUND_QUEUE),
)

# --- Live updates (sprintplan.live) ------------------------------------------------------
# The Redis pub/sub channel (channels ignore the database number: named per installation).
LIVE_CHANNEL = f"{os.environ.get('CACHE_PREFIX', 'sprintplan')}:live"
# A comment line this often keeps proxies from closing an idle stream (most cut at 60 s).
LIVE_HEARTBEAT_SECONDS = float(os.environ.get("LIVE_HEARTBEAT_SECONDS", "15"))
# A stream ends after this long; the browser reconnects, and so logs out and deploys show.
LIVE_STREAM_MAX_SECONDS = float(os.environ.get("LIVE_STREAM_MAX_SECONDS", "3600"))
CELERY_TASK_ROUTES = ("sprintplan.derived.route_task",)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis with acks_late, as Celery's documentation advises: an unacknowledged message comes
# back after the visibility timeout, so it must exceed the longest task and the longest
# countdown (forecast runs take tens of seconds under load; countdowns are < 1 s).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    "socket_timeout": REDIS_TIMEOUT_SECONDS,
    "health_check_interval": REDIS_HEALTH_CHECK_SECONDS,
    # A pipeline that timed out is not replayed (no duplicate publish).
    "retry_on_timeout": False,
}
CELERY_BROKER_CONNECTION_TIMEOUT = max(REDIS_TIMEOUT_SECONDS, 0.5)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker keeps reconnecting for as long as Redis is away (None: no limit; Celery's
# default of 100 attempts ends the process after a long outage).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Task results are not used (the outcome is in the database): no result backend to time out.
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
# Beat's own scheduler, which also writes beat's heartbeat (sprintplan.heartbeat).
CELERY_BEAT_SCHEDULER = "sprintplan.heartbeat:HeartbeatScheduler"

# --- Health -----------------------------------------------------------------------------
# Workers and beat write a heartbeat this often; /health/ answers 503 when the newest
# heartbeat of a required role is older than HEALTH_HEARTBEAT_MAX_AGE, or when a change
# has waited longer than HEALTH_DERIVED_MAX_AGE for its derived data (insights, forecasts).
HEARTBEAT_SECONDS = float(os.environ.get("HEARTBEAT_SECONDS", "10"))
HEALTH_HEARTBEAT_MAX_AGE = float(os.environ.get("HEALTH_HEARTBEAT_MAX_AGE", "30"))
HEALTH_DERIVED_MAX_AGE = float(os.environ.get("HEALTH_DERIVED_MAX_AGE", "180"))
# Roles that must be alive. With tasks in-process (no REDIS_URL) there is no process to wait for.
HEALTH_REQUIRED_ROLES = env_list(
    "HEALTH_REQUIRED_ROLES", "worker,graph,background,beat" if REDIS_URL else ""
)
# Changes within this window share one recompute (coalescing); it bounds the added latency.
RECOMPUTE_DEBOUNCE_SECONDS = float(os.environ.get("RECOMPUTE_DEBOUNCE_SECONDS", "0.2"))
# Integrations (docs/integrations.md): webhook bodies up to this size (a 5,000-task Label
# Studio delivery is about 2.6 MB), answered 413 beyond it.
INTEGRATIONS_MAX_BODY_BYTES = int(os.environ.get("INTEGRATIONS_MAX_BODY_BYTES", "10485760"))
# The derived-data catch-up is one small query when nothing waits, so it runs every few
# seconds: a kick lost while Redis was away (or skipped by a process resting after a Redis
# failure) is made up within seconds of Redis coming back, not a minute later.
_CATCH_UP_SECONDS = float(os.environ.get("CATCH_UP_SECONDS", "5"))
# Changes waiting this long while no run of their kind runs: the catch-up lowers a flag left
# up with no run behind it (sprintplan.derived.catch_up).
DERIVED_OVERDUE_SECONDS = float(os.environ.get("DERIVED_OVERDUE_SECONDS", "10"))
_DELIVERY_CATCH_UP_SECONDS = float(os.environ.get("DELIVERY_CATCH_UP_SECONDS", "60"))
_REFRESH_SECONDS = float(os.environ.get("FORECAST_REFRESH_SECONDS", "900"))
CELERY_BEAT_SCHEDULE = {
    # Import applies whose task was lost continue from their stored cursor.
    "resume-imports": {
        "task": "imports.tasks.resume_imports",
        "schedule": float(os.environ.get("IMPORT_RESUME_SECONDS", "300")),
    },
    # Safety net of every kind of derived data: runs whose enqueue was lost (Redis down,
    # worker crash) consume the durable markers that wait.
    "catch-up-derived": {
        "task": "sprintplan.tasks.catch_up_derived",
        "schedule": _CATCH_UP_SECONDS,
        # A catch-up left in the queue a minute (the worker was down) is dropped: the ones
        # queued after it do the same work, and an hour's worth must not run back to back.
        "options": {"expires": max(60.0, 2 * _CATCH_UP_SECONDS)},
    },
    # Webhook deliveries whose processing task was never queued (broker down).
    "catch-up-deliveries": {
        "task": "integrations.tasks.process_pending_deliveries",
        "schedule": _DELIVERY_CATCH_UP_SECONDS,
    },
    # Consistency: a from-scratch recompute of the insights that writes only differences.
    "refresh-insights": {
        "task": "sprintplan.tasks.refresh_derived",
        "schedule": float(os.environ.get("FULL_RECOMPUTE_SECONDS", "3600")),
        "kwargs": {"name": "insights"},
    },
    # Every open sprint's and PI's forecast: a new day shifts them. Idempotent: unchanged
    # inputs store no new run.
    "refresh-sprint-forecasts": {
        "task": "sprintplan.tasks.refresh_derived",
        "schedule": _REFRESH_SECONDS,
        "kwargs": {"name": "sprint_forecast"},
    },
    # Notifications: digests whose window ended, deliveries whose enqueue was lost.
    "notifications-sweep": {
        "task": "notifications.tasks.sweep",
        "schedule": 60.0,
    },
    # Expired API tokens are refused when presented; this deletes the ones nobody presents.
    "purge-expired-api-tokens": {
        "task": "accounts.tasks.purge_expired_tokens",
        "schedule": 3600.0,
    },
    "refresh-pi-forecasts": {
        "task": "sprintplan.tasks.refresh_derived",
        "schedule": _REFRESH_SECONDS,
        "kwargs": {"name": "pi_forecast"},
    },
}

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in (page, admin or API token) while locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one
# username from one address, that pair is locked for AXES_COOLOFF_MINUTES, on /login/,
# the admin and /api/v1/auth/token/ alike. A correct sign-in resets the count.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = 1 if env_bool("BEHIND_PROXY") else None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if env_bool("BEHIND_PROXY") else ["REMOTE_ADDR"]
)
AXES_VERBOSE = False

# --- Transport security ----------------------------------------------------------------------
# "Production" is a deployment on PostgreSQL without DEBUG (docker-compose); there cookies are
# secure and HTTPS is enforced unless switched off explicitly (e.g. a plain-HTTP trial).
PRODUCTION = not DEBUG and bool(DATABASE_URL)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
# The health check is probed over plain HTTP from inside the container network.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
# The admin's address: set ADMIN_PATH to something not guessable in production.
ADMIN_PATH = os.environ.get("ADMIN_PATH", "admin/").strip("/") + "/"

# Content Security Policy (django-csp): everything from this origin, no inline script or
# style, no eval; the pages keep all script and style in static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Request bodies (JSON, forms) above this many bytes are refused with 413 under /api/.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 2_621_440)

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: unauthenticated requests then get 401 with a WWW-Authenticate header.
        # knox: tokens stored hashed, with an expiry; `Authorization: Token <token>`. The
        # request checks only the token it presents (accounts.authentication).
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "sprintplan.pagination.PageNumberPagination",
    # Bodies are JSON (one exact contract); the token endpoint also takes a plain form.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "PAGE_SIZE": 100,
    # Per signed-in user (whatever the token or session) and per client address.
    "DEFAULT_THROTTLE_CLASSES": ["sprintplan.throttling.ApiRateLimits"],
    "DEFAULT_THROTTLE_RATES": {
        "user_burst": os.environ.get("API_THROTTLE_USER_BURST", "120/min"),
        "user_sustained": os.environ.get("API_THROTTLE_USER_SUSTAINED", "3000/hour"),
        "address": os.environ.get("API_THROTTLE_ADDRESS", "600/min"),
        "anon": os.environ.get("API_THROTTLE_ANON", "30/min"),
    },
    "NUM_PROXIES": 1 if env_bool("BEHIND_PROXY") else 0,
    # Sizes are numbers in JSON, not strings.
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_SCHEMA_CLASS": "sprintplan.schema.AutoSchema",
    "EXCEPTION_HANDLER": "sprintplan.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sprintplan API",
    "DESCRIPTION": "Teams, sprints, tickets and cross-team dependency links.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI served from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One clear name per choice set (fields called kind/state/status recur across apps).
    "ENUM_NAME_OVERRIDES": {
        "TeamKindEnum": "teams.models.Team.Kind",
        "IntegrationKindEnum": "integrations.models.Integration.Kind",
        "CriterionKindEnum": "quality.models.Criterion.Kind",
        "ArtifactKindEnum": "quality.models.Artifact.Kind",
        "MilestoneKindEnum": "programs.models.Milestone.Kind",
        "PlanningStateEnum": "sprints.models.Sprint.State",  # sprints and PIs alike
        "RiskStateEnum": "planning.models.Risk.State",
        "RiskLevelEnum": "planning.models.Risk.Level",
        "RiskLevelWordEnum": ["low", "medium", "high"],  # the API's pre-mortem risks, in words
        "TicketStatusEnum": "tickets.models.Ticket.Status",
        "DeliveryStatusEnum": "integrations.models.Delivery.Status",
        "DecisionStatusEnum": "programs.models.Decision.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sprintplan.schema.refuse_unknown_request_fields",
    ],
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env_int("API_TOKEN_TTL_HOURS", 24 * 30)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

# --- i18n, static -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve straight from the app folders too, so the embedded default needs no collectstatic.
WHITENOISE_USE_FINDERS = True
# Project-wide static files live in sprintplan/static, found like every app's.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # One line per task is noise when tasks run in-process after every change.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
        "dependencies.tasks": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}

# --- imports -----------------------------------------------------------------------------------
# Jira tokens are kept only while an import job runs, encrypted with this key (Fernet). Set it
# in production (32 url-safe base64 bytes); by default it is derived from SECRET_KEY.
IMPORTS_CREDENTIALS_KEY = os.environ.get("IMPORTS_CREDENTIALS_KEY", "")
IMPORTS_MAX_UPLOAD_BYTES = int(os.environ.get("IMPORTS_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024)))
# An upload is read into the job row; Django keeps files above this on disk while it arrives.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- notifications ------------------------------------------------------------------------
# E-mail: printed to the console in the embedded default; SMTP in production, to EMAIL_HOST
# or, when none is set, to the host's own mail relay (localhost:25), as Django always did.
_EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
_SMTP_DEFAULTS = ("587", "1") if _EMAIL_HOST else ("25", "0")
MAILERS = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _EMAIL_HOST or "localhost",
                "port": int(os.environ.get("EMAIL_PORT", _SMTP_DEFAULTS[0])),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": os.environ.get("EMAIL_USE_TLS", _SMTP_DEFAULTS[1]) == "1",
                "timeout": 10,
            },
        }
        if _EMAIL_HOST or PRODUCTION
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Sprintplan <sprintplan@localhost>")
# Links in e-mails and chat messages point here.
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000")
# At most one message of a kind per person (or webhook) and channel in this window; the
# rest of a burst is folded into one digest when it ends.
NOTIFY_THROTTLE_SECONDS = float(os.environ.get("NOTIFY_THROTTLE_SECONDS", "60"))
NOTIFY_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "4"))
NOTIFY_RETRY_BASE_SECONDS = float(os.environ.get("NOTIFY_RETRY_BASE_SECONDS", "10"))
NOTIFY_WEBHOOK_TIMEOUT = float(os.environ.get("NOTIFY_WEBHOOK_TIMEOUT", "5"))
# Webhooks may only call public addresses; allow private ones for an on-premises chat
# server (sprintplan/outbound.py).
OUTBOUND_ALLOW_PRIVATE = env_bool("OUTBOUND_ALLOW_PRIVATE", False)
NOTIFY_DIGEST_HOUR = int(os.environ.get("NOTIFY_DIGEST_HOUR", "7"))
# Whether set-password links of new people are mailed (else the People page shows the
# one-time link once, for the Scrum master to hand over).
MAIL_CONFIGURED = bool(_EMAIL_HOST)
