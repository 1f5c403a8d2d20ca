"""No Docker engine runs here, so the entrypoint is run directly and the
Dockerfile and compose file are checked against what the project has."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "bin" / "docker-entrypoint"
WEB = "gunicorn mjweb.asgi:application -k mjweb.serving.Worker"  # as bin/serve runs it


def entrypoint(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MJWEB_ENTRYPOINT_DRY_RUN": "1", "MJWEB_PORT": "8000"}
    return subprocess.run(
        [str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("args", "command"),
    [
        ((), f"{WEB} --bind 0.0.0.0:8000 --workers 2 --access-logfile -"),
        (("web",), f"{WEB} --bind 0.0.0.0:8000"),
        (("worker",), "python manage.py qcluster"),
        (("poller",), "python manage.py poller"),
        (("migrate",), "python manage.py migrate --noinput && python manage.py createcachetable"),
        (
            ("simulator",),
            "python -m simulator --host 0.0.0.0 --port 8801 --data-dir /data/simulator",
        ),
        (("manage", "check", "--deploy"), "python manage.py check --deploy"),
    ],
)
def test_the_entrypoint_runs_the_chosen_role(args, command):
    result = entrypoint(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(command)


@pytest.mark.parametrize("args", [("bogus",), ("manage",)])
def test_the_entrypoint_refuses_an_unknown_role_with_usage(args):
    result = entrypoint(*args)
    assert result.returncode == 64
    assert "usage: docker-entrypoint" in result.stderr


def test_the_dockerfile_runs_as_a_non_root_user_and_collects_static():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[1-9]-slim", text, re.M)
    assert re.search(r"^USER mjweb$", text, re.M)
    assert "collectstatic --noinput" in text
    assert 'ENTRYPOINT ["bin/docker-entrypoint"]' in text
    for source in re.findall(r"^COPY (\S+) ", text, re.M):
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


APP_ROLES = ("web", "worker", "poller", "migrate")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def names_the_code_reads() -> set[str]:
    """Every environment variable the settings, gunicorn and the entrypoint read;
    a secret may come as NAME_FILE too (mjweb.env.env_secret)."""
    text = "\n".join(
        (ROOT / path).read_text()
        for path in (
            "mjweb/settings.py",
            "mjweb/env.py",
            "mjweb/asgi.py",
            "gunicorn.conf.py",
            "bin/procs.py",
        )
    )
    names = set(re.findall(r"env_\w+\(\s*\"([A-Z0-9_]+)\"", text))
    names |= set(re.findall(r"os\.environ(?:\.get)?[\[(]\"([A-Z0-9_]+)\"", text))
    names |= set(re.findall(r"\$\{([A-Z0-9_]+)", ENTRYPOINT.read_text()))
    secrets = set(re.findall(r"env_secret\(\s*\"([A-Z0-9_]+)\"", text))
    return names | {f"{name}_FILE" for name in secrets}


def test_compose_has_every_service_and_the_roles_share_no_disk():
    services = compose()["services"]
    assert {"web", "worker", "poller", "db", "redis", "minio", "simulator", "migrate"} <= set(
        services
    )
    roles = {"web", "worker", "poller", "migrate", "simulator"}
    for name in ("web", "worker", "poller", "migrate", "simulator"):
        assert services[name]["command"][0] in roles
    for name in APP_ROLES:
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
        # Media in the bucket, so no role keeps a file only on its own disk.
        assert not any("/data/media" in v for v in services[name].get("volumes", []))
    assert "media" not in compose()["volumes"]


def test_compose_points_every_role_at_the_private_bucket_it_creates():
    services = compose()["services"]
    assert services["minio"]["command"][:2] == ["server", "/data"]
    assert any(port.endswith(":9000") for port in services["minio"]["ports"])  # for browsers
    for name in APP_ROLES:
        env = services[name]["environment"]
        assert env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["AWS_STORAGE_BUCKET_NAME"] == "${AWS_STORAGE_BUCKET_NAME:-mjweb-media}"
        assert env["AWS_S3_PUBLIC_ENDPOINT_URL"].startswith("${AWS_S3_PUBLIC_ENDPOINT_URL:-http")
        for secret in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert secret in env or f"{secret}_FILE" in env
        assert env["AWS_SECRET_ACCESS_KEY"].startswith("${MINIO_ROOT_PASSWORD:?")
        if name != "migrate":
            assert services[name]["depends_on"]["minio-init"] == {
                "condition": "service_completed_successfully"
            }
    init = services["minio-init"]
    bucket = services["web"]["environment"]["AWS_STORAGE_BUCKET_NAME"]
    assert init["environment"]["BUCKET"] == bucket
    script = init["command"][0]
    assert 'mc mb --ignore-existing "local/$$BUCKET"' in script
    assert 'mc anonymous set none "local/$$BUCKET"' in script  # private: signed URLs only


def test_compose_sets_only_variables_the_code_reads():
    known = names_the_code_reads()
    assert {"AWS_STORAGE_BUCKET_NAME", "AWS_SECRET_ACCESS_KEY_FILE", "REDIS_URL"} <= known
    for name in APP_ROLES:
        unknown = set(compose()["services"][name]["environment"]) - known
        assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"
