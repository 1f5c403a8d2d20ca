"""Running the background processes (django-q2 cluster and poller) as real
subprocesses on the test database, pointed at the simulator."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Processes:
    """qcluster + poller for the test database."""

    def __init__(self, sim, media_root: Path) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DATABASE_URL": database_url(),
            "MEDIA_ROOT": str(media_root),
            "EVOLINK_BASE_URL": sim.url("evolink"),
            "REAPI_BASE_URL": sim.url("reapi"),
            "VTRIX_BASE_URL": sim.url("vtrix"),
            "EVOLINK_API_KEY": "sim-key",
            "REAPI_API_KEY": "sim-key",
            "VTRIX_API_KEY": "sim-key",
            "MJWEB_PUBLIC_URL": "http://127.0.0.1:1",
            "MJWEB_QUEUE_RECHECK": "2",
            "MJWEB_SUBMIT_TIMEOUT": "3",
            "MJWEB_INGEST_RECHECK": "2",
            "MJWEB_WORKERS": "2",
        }
        self.procs: list[subprocess.Popen] = []

    def start(self) -> None:
        for args in (["qcluster"], ["poller", "--tick", "0.1", "--sweep", "0.5"]):
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", *args],
                    cwd=ROOT,
                    env=self.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def kill(self) -> None:
        """SIGKILL every process and its children, as a crash would."""
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.clear()

    def stop(self) -> None:
        """SIGTERM to each process itself (the cluster stops its own children and
        hangs if they are signalled too), then SIGKILL to what is left."""
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.clear()
