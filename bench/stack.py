"""Plumbing shared by the bench and soak scripts: a scratch site on loopback.

Each script gets its own temporary directory (SQLite database, media, the
simulator's files) unless DATABASE_URL is set, free loopback ports, and
process groups that are always stopped, even when the measurement fails.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def scratch_env(prefix: str, **extra: str) -> tuple[dict, Path]:
    """Environment for a throwaway site: SQLite in a temp dir, or, when the
    caller's environment has DATABASE_URL, a new database on that server,
    dropped when this script ends. Never the caller's own database."""
    scratch = Path(tempfile.mkdtemp(prefix=f"mjweb-{prefix}-"))
    if os.environ.get("DATABASE_URL"):
        extra.setdefault("DATABASE_URL", scratch_postgres(os.environ["DATABASE_URL"], prefix))
    env = {
        **os.environ,
        "DEBUG": "True",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "MJWEB_VAR_DIR": str(scratch),
        "MEDIA_ROOT": str(scratch / "media"),
        "MJWEB_PUBLIC_URL": "http://127.0.0.1:1",
        **extra,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env, scratch


def scratch_postgres(url: str, prefix: str) -> str:
    """CREATE a database for one run next to the one in `url`; DROP it at exit."""
    import psycopg  # only needed for PostgreSQL runs

    parts = urlsplit(url)
    name = f"mjweb_{prefix}_{os.getpid()}_{int(time.time())}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with contextlib.suppress(psycopg.Error), psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    atexit.register(drop)
    return urlunsplit(parts._replace(path=f"/{name}"))


def simulator_command(port: int, data_dir: Path, *args: str) -> list[str]:
    where = ["--port", str(port), "--data-dir", str(data_dir)]
    return [PY, "-m", "simulator", *where, "--quiet", *args]


@contextmanager
def processes(env: dict, *commands: list[str], log_dir: Path | None = None):
    """Start each command in its own process group; stop them all on exit."""
    procs = []
    for n, cmd in enumerate(commands):
        out = subprocess.DEVNULL
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            name = "-".join(Path(part).stem for part in cmd[1:3])
            out = open(log_dir / f"{n}-{name}.log", "wb")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        )
    try:
        yield procs
    finally:
        stop(procs)


def stop(procs: list[subprocess.Popen], grace: float = 15) -> None:
    """SIGTERM to each process itself (a supervisor such as the django-q2
    cluster stops its own children, and hangs if they are signalled behind
    its back), then SIGKILL to whatever is left of each process group."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def web_command(port: int, *, workers: int = 2) -> list[str]:
    """The web server as deployed (bin/serve): gunicorn running the ASGI
    application in uvicorn workers (mjweb.serving.Worker), which hold the live
    streams. Each process runs Django in a pool of WEB_THREADS threads (from the
    environment, 8 when unset); gunicorn.conf.py is read from ROOT, the
    working directory `processes` gives it."""
    gunicorn = str(Path(PY).parent / "gunicorn")
    return [
        *(gunicorn, "mjweb.asgi:application", "-k", "mjweb.serving.Worker"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
    ]


def manage(env: dict, *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def prepare(env: dict) -> None:
    """Migrate the scratch database and create the cache table."""
    manage(env, "migrate", "-v0")
    manage(env, "createcachetable")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, round(q * len(ordered)) - 1)]
