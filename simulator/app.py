"""Wiring: the Simulator object, in-process start for tests, subprocess start, the CLI."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from .callbacks import CallbackDispatcher
from .config import SimConfig, Timing, parse_config
from .dialects import build_dialects
from .engine import Engine
from .faults import FaultBoard
from .server import SimHTTPServer
from .state import RequestLog
from .store import Store

log = logging.getLogger("simulator")


class Simulator:
    """One running simulator. ``start()`` serves in background threads; ``stop()`` ends them."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.store = Store(Path(config.data_dir))
        self.store.ensure_keys(config.keys)
        self.faults = FaultBoard(config.faults, config.fault_seed)
        self.dialects = build_dialects(config.reapi_error_codes)
        self.requests = RequestLog(config.request_log_size)
        self.callbacks = CallbackDispatcher(
            self.store, config.timing, self._callback_body, config.request_log_size
        )
        self.engine = Engine(
            config, self.store, self.faults, self.dialects, self.callbacks.schedule
        )
        self.httpd: SimHTTPServer | None = None
        self._serve_thread: threading.Thread | None = None
        self.base_url = ""

    @property
    def port(self) -> int:
        assert self.httpd is not None
        return int(self.httpd.server_address[1])

    def url(self, dialect: str) -> str:
        """Base URL the app should use for one provider, e.g. ``http://127.0.0.1:8801/evolink``."""
        return f"{self.base_url}/{dialect}"

    def start(self) -> Simulator:
        self.httpd = SimHTTPServer((self.config.host, self.config.port), self)
        host = self.config.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - only deciding what to print
            host = "127.0.0.1"
        self.base_url = (self.config.public_url or f"http://{host}:{self.port}").rstrip("/")
        self.engine.base_url = self.base_url
        self.engine.start()
        self.callbacks.start()
        self.callbacks.resume_pending()
        self._serve_thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sim-http",
            daemon=True,
        )
        self._serve_thread.start()
        if self.config.ready_file:
            tmp = Path(f"{self.config.ready_file}.tmp")
            tmp.write_text(self.base_url)
            os.replace(tmp, self.config.ready_file)
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.stopping.set()
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        self.callbacks.stop()
        self.engine.stop()
        self.store.close()

    def __enter__(self) -> Simulator:
        return self.start() if self.httpd is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _callback_body(self, task_id: str, kind: str) -> dict[str, Any] | None:
        task = self.store.get_task(task_id)
        if task is None:
            return None
        dialect = self.dialects[task.dialect]
        view = self.engine.view(task)
        if kind == "stale":
            from .dialects import TaskView

            view = TaskView(task, "processing", 50, [], view.estimated_time)
        return dialect.task_body(view)


def start_simulator(
    data_dir: str | Path,
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    keys: Sequence[str] | None = None,
    durations: Mapping[str, float] | None = None,
    time_scale: float | None = None,
    callback_delays: Sequence[float] | None = None,
    callback_timeout: float | None = None,
    url_ttl: float | None = None,
    pending_fraction: float | None = None,
    initial_balance: Decimal | int | str | None = None,
    strict_callbacks: bool = False,
    reapi_error_codes: str = "numeric",
    faults: Mapping[str, Mapping[str, Any]] | None = None,
    fault_seed: int | None = 0,
    fetch_sources: bool = True,
    public_url: str | None = None,
    long_side: int = 1024,
    quiet: bool = True,
) -> Simulator:
    """Start a simulator in background threads of this process (for tests and scripts)."""
    timing = Timing()
    if durations:
        timing.update({"durations": dict(durations)})
    for name, value in (
        ("time_scale", time_scale),
        ("callback_delays", callback_delays),
        ("callback_timeout", callback_timeout),
        ("url_ttl", url_ttl),
        ("pending_fraction", pending_fraction),
    ):
        if value is not None:
            timing.update({name: value})
    config = SimConfig(
        host=host,
        port=port,
        data_dir=Path(data_dir),
        public_url=public_url,
        timing=timing,
        strict_callbacks=strict_callbacks,
        reapi_error_codes=reapi_error_codes,
        faults={k: dict(v) for k, v in (faults or {}).items()},
        fault_seed=fault_seed,
        fetch_sources=fetch_sources,
        long_side=long_side,
        quiet=quiet,
    )
    if keys is not None:
        config = replace(config, keys=list(keys))
    if initial_balance is not None:
        config = replace(config, initial_balance=Decimal(str(initial_balance)))
    return Simulator(config).start()


class SimulatorProcess:
    """A simulator in a child process: what restart-survival tests and ``make run`` use."""

    def __init__(self, process: subprocess.Popen[bytes], base_url: str) -> None:
        self.process = process
        self.base_url = base_url

    def url(self, dialect: str) -> str:
        return f"{self.base_url}/{dialect}"

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as after a crash."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def spawn_simulator(
    data_dir: str | Path,
    port: int = 0,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 20,
) -> SimulatorProcess:
    """Run ``python -m simulator`` in a child process and wait until it listens."""
    ready = Path(tempfile.mkdtemp(prefix="sim-ready-")) / "url"
    package_root = str(Path(__file__).resolve().parent.parent)
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, child_env.get("PYTHONPATH", "")) if p
    )
    command = [
        sys.executable,
        "-m",
        "simulator",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--ready-file",
        str(ready),
        "--quiet",
        *args,
    ]
    process = subprocess.Popen(command, env=child_env)  # noqa: S603 - our own interpreter
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            return SimulatorProcess(process, ready.read_text().strip())
        if process.poll() is not None:
            raise RuntimeError(f"simulator exited with {process.returncode} before listening")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("simulator did not start in time")


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_config(argv)
    logging.basicConfig(
        level=logging.WARNING if config.quiet else logging.INFO,
        format="%(asctime)s simulator %(levelname)s %(message)s",
    )
    sim = Simulator(config).start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"simulator listening on {sim.base_url}", flush=True)
    for name in sim.dialects:
        print(f"  {name:8} {sim.url(name)}", flush=True)
    print(f"  control  {sim.base_url}/_sim/config   keys: {', '.join(config.keys)}", flush=True)
    stop.wait()
    sim.stop()
    return 0
