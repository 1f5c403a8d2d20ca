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


def entrypoint(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MJWEB_ENTRYPOINT_DRY_RUN": "1", "MJWEB_PORT": "8000"}
    return subprocess.run(
        [str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("args", "command"),
    [
        ((), "gunicorn mjweb.wsgi --bind 0.0.0.0:8000 --workers 2 --threads 8"),
        (("web",), "gunicorn mjweb.wsgi --bind 0.0.0.0:8000"),
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


def test_compose_has_every_service_and_shares_media_between_web_and_worker():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "poller", "db", "redis", "simulator", "migrate"} <= set(services)
    roles = {"web", "worker", "poller", "migrate", "simulator"}
    for name in ("web", "worker", "poller", "migrate", "simulator"):
        assert services[name]["command"][0] in roles
    for name in ("web", "worker"):
        assert "media:/data/media" in services[name]["volumes"]
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
    assert "media" in compose["volumes"]
