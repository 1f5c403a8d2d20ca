"""`make serve` is what a deployment runs: it is never in debug mode by accident."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def serve(tmp_path, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    env.update(MJWEB_VAR_DIR=str(tmp_path), MEDIA_ROOT=str(tmp_path / "media"), **extra)
    env.update(MJWEB_PORT=str(free_port()))
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        ["bash", str(ROOT / "bin" / "serve")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_without_debug_set_refuses_to_start_without_a_secret_key(tmp_path):
    result = serve(tmp_path)
    assert result.returncode != 0
    # Production settings were chosen: they insist on a real key.
    assert "SECRET_KEY must be set when DEBUG=False" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_a_blank_debug_is_not_debug_either(tmp_path, blank):
    result = serve(tmp_path, DEBUG=blank)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=False" in result.stderr


def test_a_debug_value_that_is_not_a_boolean_stops_serve_before_anything_runs(tmp_path):
    result = serve(tmp_path, DEBUG="ture")
    assert result.returncode != 0
    assert "DEBUG='ture' is not a boolean" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()
