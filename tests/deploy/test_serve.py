"""`make serve` is what a deployment runs: it is never in debug mode by accident."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_serve_without_debug_set_refuses_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    env.update(MJWEB_VAR_DIR=str(tmp_path), MEDIA_ROOT=str(tmp_path / "media"))
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        ["bash", str(ROOT / "bin" / "serve")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    # Production settings were chosen: they insist on a real key.
    assert "SECRET_KEY must be set when DEBUG=False" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()
