"""Upstream simulator for the evolink, reAPI and Vtrix Midjourney V7 APIs.

A separate program: it imports nothing from the app (``gallery``, ``mjweb``).
It speaks the three providers' wire formats, renders real PNGs with Pillow,
keeps its state in SQLite under ``--data-dir`` and can be told to misbehave.

Why the standard library server (``http.server.ThreadingHTTPServer``) rather
than a framework: zero new dependencies for a tool that every developer and CI
run starts; a thread per connection is ample for loopback tests and a demo; a
"slow" fault is just a sleeping thread and a "dropped connection" fault needs
the raw socket, which frameworks hide; and it starts in milliseconds on a free
port inside a test process. Pillow (images) and httpx (callbacks, fetching
loopback source images) are already dependencies of the project.

Use::

    python -m simulator --port 8801 --data-dir var/simulator

or, from tests::

    from simulator import start_simulator
    sim = start_simulator(tmp_path, durations={"fast": 0.3})
    sim.url("evolink")  # -> "http://127.0.0.1:PORT/evolink"
    sim.stop()
"""

from .app import Simulator, SimulatorProcess, main, spawn_simulator, start_simulator
from .config import SimConfig, Timing, parse_config

__all__ = [
    "SimConfig",
    "Simulator",
    "SimulatorProcess",
    "Timing",
    "main",
    "parse_config",
    "spawn_simulator",
    "start_simulator",
]
