"""Settings come from the environment and fail loudly, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": "a" * 20 + "b" * 20 + "cdefghijklmnop",
    "ALLOWED_HOSTS": "mjweb.example.org",
    "MJWEB_PUBLIC_URL": "https://mjweb.example.org",
}


def clean_env(**env: str) -> dict[str, str]:
    """This process's environment without what the test run itself sets."""
    drop = {*PRODUCTION, "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    drop |= {k for k in os.environ if k.startswith("AWS_S3_") or k == "AWS_STORAGE_BUCKET_NAME"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **env}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = clean_env(**env)
    clean["DJANGO_SETTINGS_MODULE"] = "mjweb.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def load_settings(**env: str) -> subprocess.CompletedProcess:
    return run_python("import django; django.setup()", **env)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "False"}, "SECRET_KEY must be set"),
        ({**PRODUCTION, "SECRET_KEY": "short"}, "SECRET_KEY must be at least 50 characters"),
        ({**PRODUCTION, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL=mysql://… is not supported"),
        ({"DATABASE_URL": "postgres://db:notaport/x"}, "DATABASE_URL has an invalid port"),
        ({"DATABASE_URL": "postgres://db"}, "DATABASE_URL must name a database"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' is not a URL"),
        (
            {"MJWEB_PROVIDER": "openai"},
            "MJWEB_PROVIDER='openai' must be one of: evolink, reapi, vtrix",
        ),
        ({"EVOLINK_BASE_URL": "api.evolink.ai"}, "EVOLINK_BASE_URL='api.evolink.ai' is not a URL"),
        ({"MJWEB_PUBLIC_URL": "ftp://x"}, "MJWEB_PUBLIC_URL='ftp://x' is not a URL"),
        ({"MJWEB_WORKERS": "two"}, "MJWEB_WORKERS='two' is not an integer"),
        ({"MJWEB_WORKERS": "0"}, "MJWEB_WORKERS=0 must be at least 1"),
        ({"MJWEB_TRUSTED_PROXIES": "-1"}, "MJWEB_TRUSTED_PROXIES=-1 must be at least 0"),
        (
            {"MJWEB_PROXY_HEADER": "x-real-ip"},
            "MJWEB_PROXY_HEADER='x-real-ip' must be one of: x-forwarded-for, forwarded",
        ),
        (
            {"AWS_STORAGE_BUCKET_NAME": "media", "AWS_S3_ENDPOINT_URL": "minio:9000"},
            "AWS_S3_ENDPOINT_URL='minio:9000' is not a URL",
        ),
        (
            {"AWS_STORAGE_BUCKET_NAME": "media", "AWS_SECRET_ACCESS_KEY_FILE": "/nonexistent/s"},
            "AWS_SECRET_ACCESS_KEY_FILE='/nonexistent/s' cannot be read",
        ),
        (
            {"SECRET_KEY_FILE": "/nonexistent/key"},
            "SECRET_KEY_FILE='/nonexistent/key' cannot be read",
        ),
    ],
)
def test_a_bad_value_fails_naming_the_variable(env, message):
    result = load_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_the_laptop_defaults_are_sqlite_with_wal_and_immediate_transactions():
    result = run_python(
        "import django; django.setup();"
        "from django.conf import settings as s; from django.db import connection as c;"
        "o = s.DATABASES['default']['OPTIONS'];"
        "print(s.DATABASES['default']['NAME'], o['transaction_mode'], o['timeout']);"
        "cur = c.cursor(); cur.execute('PRAGMA journal_mode'); print(cur.fetchone()[0]);"
        "q = s.Q_CLUSTER; print(q.get('orm'), q['timeout'] < q['retry'], q['max_attempts'])",
        MJWEB_VAR_DIR=str(ROOT / "var"),
    )
    assert result.returncode == 0, result.stderr
    first, journal, queue = result.stdout.split("\n")[:3]
    assert first == f"{ROOT / 'var' / 'db.sqlite3'} IMMEDIATE 20"
    assert journal == "wal"
    assert queue == "default True 3"


def test_database_url_switches_to_postgresql():
    result = run_python(
        "import django; django.setup(); from django.conf import settings as s;"
        "d = s.DATABASES['default'];"
        "print(d['ENGINE'], d['NAME'], d['USER'], d['HOST'], d['PORT'])",
        DATABASE_URL="postgres://mj:p%40ss@db.internal:5433/mjweb",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.postgresql mjweb mj db.internal 5433"


def test_redis_url_switches_the_queue_broker_and_the_cache():
    result = run_python(
        "import django; django.setup(); from django.conf import settings as s;"
        "r = s.Q_CLUSTER['redis']; c = s.CACHES['default'];"
        "print(r['host'], r['port'], r['db'], r['retry'].get_retries(), 'orm' in s.Q_CLUSTER,"
        " c['BACKEND'], c['LOCATION'], c['OPTIONS']['retry'].get_retries())",
        REDIS_URL="redis://cache:6379/1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "cache",
        "6379",
        "1",
        "10",  # both wait out a restart (mjweb.env.redis_options)
        "False",
        "django.core.cache.backends.redis.RedisCache",
        "redis://cache:6379/1",
        "10",
    ]


def test_secrets_can_come_from_files(tmp_path):
    key_file = tmp_path / "evolink"
    key_file.write_text("sk-from-file\n")
    result = run_python(
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.PROVIDERS['evolink']['api_key'])",
        EVOLINK_API_KEY_FILE=str(key_file),
    )
    assert result.stdout.strip() == "sk-from-file"


STORAGE = (
    "import django; django.setup(); from django.conf import settings as s;"
    "d = s.STORAGES['default']; o = d.get('OPTIONS', {});"
    "print(d['BACKEND'], o.get('bucket_name'), o.get('endpoint_url'), o.get('access_key'),"
    " o.get('secret_key'), o.get('region_name'), o.get('addressing_style'), o.get('default_acl'),"
    " o.get('querystring_auth'), o.get('querystring_expire'),"
    " s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'][3:])"
)


def test_without_a_bucket_media_stay_on_the_local_disk():
    result = run_python(STORAGE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.core.files.storage.FileSystemStorage",
        *["None"] * 9,
        "[]",
    ]


def test_a_bucket_puts_media_in_s3_privately_with_secrets_from_files(tmp_path):
    secret = tmp_path / "s3-secret"
    secret.write_text("s3cr3t\n")
    result = run_python(
        STORAGE,
        AWS_STORAGE_BUCKET_NAME="mjweb-media",
        AWS_S3_ENDPOINT_URL="http://minio:9000",
        AWS_S3_PUBLIC_ENDPOINT_URL="https://media.example.org",
        AWS_ACCESS_KEY_ID="mjweb",
        AWS_SECRET_ACCESS_KEY_FILE=str(secret),
        AWS_S3_REGION_NAME="eu-west-1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(None, 10) == [
        "storages.backends.s3.S3Storage",
        "mjweb-media",
        "http://minio:9000",
        "mjweb",
        "s3cr3t",
        "eu-west-1",
        "path",
        "None",  # no ACL: the bucket's own policy, private
        "True",  # every URL signed
        "300",
        "['https://media.example.org']\n",  # browsers follow redirects there
    ]


def test_check_deploy_is_clean_in_production_mode():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean_env(**PRODUCTION),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("url", "connection", "where"),
    [
        ("redis://:pw@cache:6380/2", "Connection", {"host": "cache", "port": 6380, "db": 2}),
        ("rediss://cache/0", "SSLConnection", {"host": "cache", "port": 6379, "db": 0}),
        ("unix:///run/redis.sock?db=3", "UnixDomainSocketConnection", {"path": "/run/redis.sock"}),
    ],
)
def test_every_redis_url_form_makes_a_broker_client(url, connection, where):
    import redis

    from mjweb.env import redis_options

    pool = redis.Redis(**redis_options(url)).connection_pool
    assert pool.connection_class.__name__ == connection
    assert {k: pool.connection_kwargs.get(k) for k in where} == where
