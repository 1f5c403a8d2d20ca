"""Reading configuration from the environment, loudly.

Every reader raises ImproperlyConfigured naming the variable when its value
cannot be used, so a typo in a deployment fails at start-up instead of
quietly running with a default.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use True or False")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


def env_secret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker secrets)."""
    path = os.environ.get(f"{name}_FILE", "").strip()
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from None
    return env_str(name, default)


def env_url(name: str, default: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    value = (env_str(name, default) or default).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a URL: expected {' or '.join(schemes)}://host[:port][/path]"
        )
    return value


def database_from_url(name: str, url: str, *, sqlite_path: Path) -> dict:
    """A DATABASES entry from a URL: postgres://user:pass@host:port/db or sqlite:///path."""
    if not url:
        return sqlite_database(sqlite_path)
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        if not parts.path.strip("/"):
            raise ImproperlyConfigured(f"{name} must name a database: postgres://host/NAME")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has an invalid port") from None
        options = dict(parse_qsl(parts.query))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.strip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": unquote(parts.hostname or ""),
            "PORT": str(port or ""),
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60, minimum=0),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if not path or path == "/":
            raise ImproperlyConfigured(f"{name} must name a file: sqlite:////absolute/path.db")
        return sqlite_database(Path(path))
    raise ImproperlyConfigured(
        f"{name}={parts.scheme}://… is not supported: use postgres:// or sqlite://"
    )


def sqlite_database(path: Path) -> dict:
    # WAL lets the web server read while a worker writes; IMMEDIATE takes the
    # write lock at BEGIN so concurrent writers queue on the busy timeout
    # instead of failing with "database is locked" mid-transaction; FULL sync
    # because the ledger lives here and a committed credit must survive a
    # power cut.
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"),
        },
        # Per process, so two test runs on one machine never share a file.
        "TEST": {"NAME": path.with_name(f"test_{os.getpid()}_{path.name}")},
    }


def redis_options(url: str) -> dict:
    """Keyword arguments for a redis.Redis client on `url` that waits out a
    restart of the server: about 6 s of retries with backoff on a refused or
    broken connection (a restart takes well under one), after which the error
    stands. Django's cache passes the same options to its connection pool."""
    from redis.backoff import ExponentialBackoff
    from redis.connection import SSLConnection, UnixDomainSocketConnection, parse_url
    from redis.exceptions import ConnectionError, TimeoutError
    from redis.retry import Retry

    options = parse_url(url)
    kind = options.pop("connection_class", None)
    if kind is UnixDomainSocketConnection:
        options["unix_socket_path"] = options.pop("path")
    elif kind is SSLConnection:
        options["ssl"] = True
    return {
        **options,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 10),
        "retry_on_error": [ConnectionError, TimeoutError],
        "socket_connect_timeout": 5,
        "health_check_interval": 15,
    }
