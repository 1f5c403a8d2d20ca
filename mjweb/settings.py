"""mjweb settings: one module, driven by the environment (see README, "Configuration")."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from mjweb.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_secret,
    env_str,
    env_url,
    redis_options,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MJWEB_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=False")
    SECRET_KEY = "insecure-dev-key-only-for-DEBUG-mode-do-not-deploy"  # noqa: S105
elif not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters when DEBUG=False")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG=False")

# Where the providers (and people following share links) reach this site.
MJWEB_PUBLIC_URL = env_url("MJWEB_PUBLIC_URL", "http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials.apps.SimpleAppConfig",
    "django_q",
    "gallery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mjweb.middleware.RedisOutage",  # last, so the first to see a view's exception
]

ROOT_URLCONF = "mjweb.urls"
WSGI_APPLICATION = "mjweb.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Site-wide pages (base, errors) first, then each domain's own folder; names
        # keep the app label's prefix ("gallery/index.html") wherever they live.
        "DIRS": [
            BASE_DIR / "templates",
            *(
                BASE_DIR / "gallery" / domain / "templates"
                for domain in ("teams", "credits", "studio", "api")
            ),
        ],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gallery.credits.context_processors.site",
                "gallery.credits.context_processors.teams",
                "gallery.credits.context_processors.header_balance",
            ],
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                    ]
                    if DEBUG
                    else [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                "django.template.loaders.filesystem.Loader",
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                )
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

DATABASES = {
    "default": database_from_url(
        "DATABASE_URL", env_str("DATABASE_URL"), sqlite_path=VAR_DIR / "db.sqlite3"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    env_url("REDIS_URL", REDIS_URL, schemes=("redis", "rediss", "unix"))
    # Both clients wait out a restart of the server (mjweb.env.redis_options).
    _redis_retry = {k: v for k, v in redis_options(REDIS_URL).items() if k.startswith("retry")}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {**_redis_retry, "socket_connect_timeout": 5, "health_check_interval": 15},
        }
    }
else:
    # The database cache is shared by the web and worker processes, so
    # throttles and counters agree across them without extra services.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "mjweb_cache",
        }
    }

# django-q2. The ORM broker on the default database gives delivery receipts and
# makes a task queued inside a transaction visible only when it commits.
# timeout < retry so a slow task is never handed to a second worker while it
# still runs; a finite max_attempts so a poison task stops. Every task is
# idempotent and the job state machine decides real retries.
Q_CLUSTER = {
    "name": "mjweb",
    "workers": env_int("MJWEB_WORKERS", 2, minimum=1),
    "timeout": 120,
    "retry": 300,
    "max_attempts": 3,
    "ack_failures": True,
    "queue_limit": 8,
    "bulk": 1,
    "poll": 0.5,
    "save_limit": 250,
    "catch_up": False,
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = redis_options(REDIS_URL)
else:
    Q_CLUSTER["orm"] = "default"

# PBKDF2 as Django's default; at most half the cores hash at once (gallery/teams/passwords.py).
PASSWORD_HASHERS = [
    "gallery.teams.passwords.QueuedPBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Object storage: with a bucket named, media (originals, thumbnails, uploaded
# references) live in it through django-storages instead of MEDIA_ROOT. The
# bucket stays private: objects get no ACL, every URL is signed and short-lived,
# and the app hands one out only after its own checks (gallery/net/files.py).
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
# Seconds a signed bucket URL opens; the app makes a new one on each request.
MJWEB_MEDIA_URL_SECONDS = env_int("MJWEB_MEDIA_URL_SECONDS", 300, minimum=10)
MJWEB_MEDIA_ORIGINS: list[str] = []  # the bucket as browsers reach it, for the CSP
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") and env_url("AWS_S3_ENDPOINT_URL", "")
    # The endpoint as browsers reach it, when the app reaches the bucket by
    # another name (docker-compose: http://minio:9000 inside, localhost outside).
    # Signing needs no connection, so URLs are signed for this host.
    AWS_S3_PUBLIC_ENDPOINT_URL = (
        env_str("AWS_S3_PUBLIC_ENDPOINT_URL") and env_url("AWS_S3_PUBLIC_ENDPOINT_URL", "")
    ) or AWS_S3_ENDPOINT_URL
    AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
    _s3 = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        # None lets boto3 find credentials itself (an instance role, ~/.aws).
        "access_key": env_secret("AWS_ACCESS_KEY_ID") or None,
        "secret_key": env_secret("AWS_SECRET_ACCESS_KEY") or None,
        "region_name": AWS_S3_REGION_NAME,
        "endpoint_url": AWS_S3_ENDPOINT_URL or None,
        # Other S3 services (MinIO, Ceph, moto) want bucket names in the path.
        "addressing_style": "path" if AWS_S3_ENDPOINT_URL else "virtual",
        "signature_version": "s3v4",
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": MJWEB_MEDIA_URL_SECONDS,
        "file_overwrite": True,  # names are content hashes: the same name is the same bytes
    }
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3}
    if AWS_S3_PUBLIC_ENDPOINT_URL:
        _public = urlsplit(AWS_S3_PUBLIC_ENDPOINT_URL)
        MJWEB_MEDIA_ORIGINS = [f"{_public.scheme}://{_public.netloc}"]
    else:  # AWS itself: the global name, and the regional one boto3 may sign for
        _host = f"https://{AWS_STORAGE_BUCKET_NAME}.s3"
        _region = AWS_S3_REGION_NAME or "us-east-1"
        MJWEB_MEDIA_ORIGINS = [f"{_host}.amazonaws.com", f"{_host}.{_region}.amazonaws.com"]

# Recovery timings of the job pipeline, in seconds: when the poller's sweep
# re-queues a queued job whose task was lost, gives up on a submit whose
# worker died, and retries an ingest.
MJWEB_QUEUE_RECHECK = env_int("MJWEB_QUEUE_RECHECK", 60, minimum=1)
MJWEB_SUBMIT_TIMEOUT = env_int("MJWEB_SUBMIT_TIMEOUT", 120, minimum=1)
MJWEB_INGEST_RECHECK = env_int("MJWEB_INGEST_RECHECK", 60, minimum=1)
# Upstream tasks in flight per provider (one account's concurrency); jobs beyond
# it wait and are sent round-robin across members as slots free up.
MJWEB_PROVIDER_CONCURRENCY = env_int("MJWEB_PROVIDER_CONCURRENCY", 10, minimum=1)
# Team API requests per token per window (seconds), counted in the shared cache.
MJWEB_API_RATE_LIMIT = env_int("MJWEB_API_RATE_LIMIT", 120, minimum=1)
MJWEB_API_RATE_WINDOW = env_int("MJWEB_API_RATE_WINDOW", 60, minimum=1)
# How long a result-file URL from the team API opens; reading the task renews it.
MJWEB_API_FILE_URL_SECONDS = env_int("MJWEB_API_FILE_URL_SECONDS", 3600, minimum=60)
# Reference images for prompts (gallery/studio/references.py): uploads each member may
# make per window (seconds), the total a member may keep, and the days a
# reference that no job uses is kept (one a job uses stays with the job).
# Sign-in checks one web process holds at once (each may wait for a hashing
# slot): half its threads, so a burst of sign-ins always leaves threads free.
MJWEB_PASSWORD_CHECKS_PER_PROCESS = max(1, env_int("WEB_THREADS", 8, minimum=1) // 2)
MJWEB_UPLOAD_RATE_LIMIT = env_int("MJWEB_UPLOAD_RATE_LIMIT", 30, minimum=1)
MJWEB_UPLOAD_RATE_WINDOW = env_int("MJWEB_UPLOAD_RATE_WINDOW", 600, minimum=1)
MJWEB_UPLOAD_QUOTA_BYTES = env_int("MJWEB_UPLOAD_QUOTA_MB", 500, minimum=1) * 1024 * 1024
MJWEB_UPLOAD_RETENTION_DAYS = env_int("MJWEB_UPLOAD_RETENTION_DAYS", 7, minimum=1)
# Days a deleted job lies in its team's trash before the poller purges its files.
MJWEB_TRASH_DAYS = env_int("MJWEB_TRASH_DAYS", 30, minimum=1)

# Budget alerts go by email through Django's mail settings: printed to the
# console in development; set EMAIL_BACKEND and EMAIL_HOST (and friends) to send.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "mjweb@localhost")
# Hours the live change feed keeps its events: a page's stream that was cut for
# longer than this reloads its content instead of replaying what it missed.
MJWEB_LIVE_RETENTION_HOURS = env_int("MJWEB_LIVE_RETENTION_HOURS", 48, minimum=1)
# ZIP exports (gallery/studio/exports.py): up to MJWEB_EXPORT_STREAM_MAX images
# stream at once; more are built by a worker into MJWEB_EXPORT_DIR (a local
# folder: the part-built file is appended to, which a bucket cannot do), then
# kept in media storage for MJWEB_EXPORT_HOURS.
MJWEB_EXPORT_STREAM_MAX = env_int("MJWEB_EXPORT_STREAM_MAX", 200, minimum=1)
MJWEB_EXPORT_DIR = Path(env_str("MJWEB_EXPORT_DIR") or VAR_DIR / "exports")
MJWEB_EXPORT_HOURS = env_int("MJWEB_EXPORT_HOURS", 24, minimum=1)
# Jobs one prompt may make with permutation braces and --repeat (gallery/catalog/permutations.py);
# 40 is Midjourney's own limit for a permutation in fast mode.
MJWEB_BATCH_CAP = env_int("MJWEB_BATCH_CAP", 40, minimum=1)
# Live streams (gallery/studio/live/hub.py): how often the hub reads new events
# while a stream is open on SQLite, and how long one stream lasts before the
# browser reconnects (with its last event id, so nothing is missed).
MJWEB_LIVE_TICK_MS = env_int("MJWEB_LIVE_TICK_MS", 50, minimum=1)
MJWEB_LIVE_MAX_STREAM_S = env_int("MJWEB_LIVE_MAX_STREAM_S", 900, minimum=1)

# The upstream aggregators. Base URLs default to the real hosts; `make run`
# points all three at the simulator, which serves each under its own prefix.
PROVIDER_NAMES = ("evolink", "reapi", "vtrix")
MJWEB_PROVIDER = env_choice("MJWEB_PROVIDER", "evolink", PROVIDER_NAMES)
PROVIDERS = {
    "evolink": {
        "base_url": env_url("EVOLINK_BASE_URL", "https://api.evolink.ai"),
        "api_key": env_secret("EVOLINK_API_KEY"),
        "statement_url": env_str("EVOLINK_STATEMENT_URL", ""),
    },
    "reapi": {
        "base_url": env_url("REAPI_BASE_URL", "https://reapi.ai"),
        "api_key": env_secret("REAPI_API_KEY"),
        "statement_url": env_str("REAPI_STATEMENT_URL", ""),
    },
    "vtrix": {
        "base_url": env_url("VTRIX_BASE_URL", "https://cloud.vtrix.ai"),
        "api_key": env_secret("VTRIX_API_KEY"),
        "statement_url": env_str("VTRIX_STATEMENT_URL", ""),
    },
}

# The client address (gallery/net/throttle.py client_address) for the sign-in and
# API throttles and the access log: behind N proxies, the Nth address from the
# right of the header they append to. A count rather than a list of proxy
# addresses: it needs no knowledge of the load balancer's changing addresses.
# 0 (no proxy) reads no forwarded header at all.
MJWEB_TRUSTED_PROXIES = env_int("MJWEB_TRUSTED_PROXIES", 0, minimum=0)
MJWEB_PROXY_HEADER = env_choice(
    "MJWEB_PROXY_HEADER", "x-forwarded-for", ("x-forwarded-for", "forwarded")
)

# Security. Cookies and redirects follow the scheme of MJWEB_PUBLIC_URL in
# production, so a plain-http install on a LAN still works when told so.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 14 * 24 * 3600
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = (
        ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", True) else None
    )
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Scripts only from this site, each carrying the per-response nonce; no
# inline style or script, nothing framed, no plugins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        # The bucket, when media live in one: the app redirects <img> there.
        "img-src": [SELF, "data:", "blob:", *MJWEB_MEDIA_ORIGINS],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Invite tokens, signed file URLs and share links are credentials: the loggers
# that write request paths redact them where the record is made (gallery/net/redact.py;
# gunicorn's access log does the same in gunicorn.conf.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_secrets": {"()": "gallery.net.redact.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "django.request": {"filters": ["redact_secrets"]},
        # runserver's request log; Django gives it a handler of its own otherwise.
        "django.server": {
            "filters": ["redact_secrets"],
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
        },
    },
}
