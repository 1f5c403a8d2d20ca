"""Run-time configuration: command line, environment variables and their defaults.

Every option has an environment variable (``SIM_<NAME>``) so ``make run`` and
docker-compose can configure the simulator without editing a command line; a
command-line flag wins over the environment.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8801
DEFAULT_KEY = "sim-key"
SPEEDS = ("draft", "turbo", "fast")

# Real upstreams: draft ~10x faster than fast, turbo ~2x faster than fast, fast
# 35-60 s. Scaled down about 6x so a demo feels alive without waiting a minute.
DEFAULT_DURATIONS: dict[str, float] = {"draft": 2.0, "turbo": 4.0, "fast": 8.0}
DEFAULT_CALLBACK_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0)  # evolink: retries at 1 s / 2 s / 4 s
DEFAULT_CALLBACK_TIMEOUT = 10.0  # evolink: 10 s per attempt
DEFAULT_URL_TTL = 24 * 3600.0  # evolink: result links valid for 24 h
DEFAULT_BALANCE = Decimal(1_000_000)

FAULT_NAMES = (
    "rate_limit",
    "server_error",
    "slow",
    "drop",
    "task_failure",
    "moderation",
    "callback_duplicate",
    "callback_out_of_order",
    "callback_unreachable",
)


@dataclass
class Timing:
    """Everything about simulated time that tests may want to shrink."""

    durations: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DURATIONS))
    # Fraction of a task's duration spent in ``pending`` before ``processing``.
    pending_fraction: float = 0.15
    time_scale: float = 1.0
    callback_delays: tuple[float, ...] = DEFAULT_CALLBACK_DELAYS
    callback_timeout: float = DEFAULT_CALLBACK_TIMEOUT
    url_ttl: float = DEFAULT_URL_TTL

    def duration(self, speed: str) -> float:
        return self.durations.get(speed, self.durations["fast"]) * self.time_scale

    def retry_delays(self) -> list[float]:
        return [d * self.time_scale for d in self.callback_delays]

    def as_dict(self) -> dict[str, Any]:
        return {
            "durations": dict(self.durations),
            "pending_fraction": self.pending_fraction,
            "time_scale": self.time_scale,
            "callback_delays": list(self.callback_delays),
            "callback_timeout": self.callback_timeout,
            "url_ttl": self.url_ttl,
        }

    def update(self, data: Mapping[str, Any]) -> None:
        """Apply a partial update (control endpoint); raises ValueError on bad input."""
        for speed in SPEEDS:
            if speed in data:
                self.durations[speed] = _non_negative(data[speed], speed)
        if "durations" in data:
            for speed, value in dict(data["durations"]).items():
                if speed not in SPEEDS:
                    raise ValueError(f"unknown speed {speed!r}")
                self.durations[speed] = _non_negative(value, speed)
        if "pending_fraction" in data:
            value = _non_negative(data["pending_fraction"], "pending_fraction")
            if value >= 1:
                raise ValueError("pending_fraction must be below 1")
            self.pending_fraction = value
        if "time_scale" in data:
            self.time_scale = _non_negative(data["time_scale"], "time_scale")
        if "callback_delays" in data:
            self.callback_delays = tuple(
                _non_negative(v, "callback_delays") for v in data["callback_delays"]
            )
        if "callback_timeout" in data:
            self.callback_timeout = _non_negative(data["callback_timeout"], "callback_timeout")
        if "url_ttl" in data:
            self.url_ttl = _non_negative(data["url_ttl"], "url_ttl")


def _non_negative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number")
    number = float(value)
    if number < 0 or number != number:
        raise ValueError(f"{name} must be a non-negative number")
    return number


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = Path("var/simulator")
    public_url: str | None = None
    keys: list[str] = field(default_factory=lambda: [DEFAULT_KEY])
    initial_balance: Decimal = DEFAULT_BALANCE
    timing: Timing = field(default_factory=Timing)
    # The real evolink refuses http:// and private-address callback URLs; the app
    # under test listens on loopback, so by default the simulator accepts them.
    strict_callbacks: bool = False
    reapi_error_codes: str = "numeric"  # or "string" (the MJ-V7 page's variant)
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    fault_seed: int | None = None
    # Fetch image URLs (image_urls, mask URLs, image prompts) when they point at
    # loopback, so retexture/remove-bg really use the app's uploaded image.
    fetch_sources: bool = True
    # Long side of a generated image (draft: half). Lower it for load tests:
    # PNG encoding is most of the simulator's CPU.
    long_side: int = 1024
    request_log_size: int = 5000
    quiet: bool = False
    ready_file: Path | None = None


def parse_fault_spec(text: str) -> dict[str, dict[str, Any]]:
    """Parse ``name[:key=value,...]`` (several separated by ``;``) or a JSON object."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("fault JSON must be an object")
        return {str(k): dict(v or {}) for k, v in data.items()}
    faults: dict[str, dict[str, Any]] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        name, _, rest = part.partition(":")
        spec: dict[str, Any] = {}
        for item in filter(None, (p.strip() for p in rest.split(","))):
            key, _, value = item.partition("=")
            spec[key.strip()] = _scalar(value.strip())
        faults[name.strip()] = spec
    return faults


def _scalar(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _env_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in {"1", "true", "yes", "on"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Upstream simulator for the evolink, reAPI and Vtrix Midjourney V7 APIs.",
    )
    p.add_argument("--host", help="bind address (SIM_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port, 0 = any free port (SIM_PORT, default 8801)")
    p.add_argument("--data-dir", help="state directory (SIM_DATA_DIR, default var/simulator)")
    p.add_argument("--public-url", help="base URL put in image links (SIM_PUBLIC_URL)")
    p.add_argument("--keys", help="comma-separated API keys (SIM_KEYS, default sim-key)")
    p.add_argument("--balance", help="initial balance per key and dialect (SIM_BALANCE)")
    for speed in SPEEDS:
        p.add_argument(f"--duration-{speed}", type=float, help=f"{speed} task seconds")
    p.add_argument("--time-scale", type=float, help="multiplies durations and callback delays")
    p.add_argument("--callback-delays", help="retry delays in seconds, e.g. 1,2,4")
    p.add_argument("--callback-timeout", type=float, help="seconds per callback attempt")
    p.add_argument("--url-ttl", type=float, help="seconds image URLs stay valid (default 86400)")
    p.add_argument(
        "--strict-callbacks",
        action="store_true",
        default=None,
        help="refuse http:// and private-address callback URLs like the real evolink",
    )
    p.add_argument("--reapi-error-codes", choices=("numeric", "string"))
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        help="enable a fault: NAME[:key=value,...] (repeatable) or a JSON object",
    )
    p.add_argument("--fault-seed", type=int, help="seed for fault dice (reproducible runs)")
    p.add_argument(
        "--no-fetch-sources", action="store_true", default=None, help="never fetch image URLs"
    )
    p.add_argument("--long-side", type=int, help="long side of generated images (default 1024)")
    p.add_argument("--request-log-size", type=int)
    p.add_argument("--ready-file", help="write the base URL to this file once listening")
    p.add_argument("--quiet", action="store_true", default=None, help="no access log on stderr")
    return p


def parse_config(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> SimConfig:
    env = dict(os.environ if environ is None else environ)
    args = build_parser().parse_args(argv)

    def pick(arg: Any, name: str) -> Any:
        return arg if arg is not None else env.get(f"SIM_{name}")

    cfg = SimConfig()
    cfg.host = pick(args.host, "HOST") or cfg.host
    port = pick(args.port, "PORT")
    cfg.port = int(port) if port is not None else cfg.port
    data_dir = pick(args.data_dir, "DATA_DIR")
    cfg.data_dir = Path(data_dir) if data_dir else cfg.data_dir
    cfg.public_url = pick(args.public_url, "PUBLIC_URL") or None
    keys = pick(args.keys, "KEYS")
    if keys:
        cfg.keys = [k.strip() for k in str(keys).split(",") if k.strip()]
    balance = pick(args.balance, "BALANCE")
    if balance is not None:
        cfg.initial_balance = Decimal(str(balance))
    for speed in SPEEDS:
        value = pick(getattr(args, f"duration_{speed}"), f"DURATION_{speed.upper()}")
        if value is not None:
            cfg.timing.durations[speed] = float(value)
    scale = pick(args.time_scale, "TIME_SCALE")
    if scale is not None:
        cfg.timing.time_scale = float(scale)
    delays = pick(args.callback_delays, "CALLBACK_DELAYS")
    if delays:
        cfg.timing.callback_delays = tuple(float(d) for d in str(delays).split(",") if d.strip())
    timeout = pick(args.callback_timeout, "CALLBACK_TIMEOUT")
    if timeout is not None:
        cfg.timing.callback_timeout = float(timeout)
    ttl = pick(args.url_ttl, "URL_TTL")
    if ttl is not None:
        cfg.timing.url_ttl = float(ttl)
    strict = args.strict_callbacks or _env_bool(env.get("SIM_STRICT_CALLBACKS"))
    cfg.strict_callbacks = bool(strict)
    cfg.reapi_error_codes = pick(args.reapi_error_codes, "REAPI_ERROR_CODES") or "numeric"
    if cfg.reapi_error_codes not in ("numeric", "string"):
        raise SystemExit("SIM_REAPI_ERROR_CODES must be numeric or string")
    faults: dict[str, dict[str, Any]] = {}
    if env.get("SIM_FAULTS"):
        faults.update(parse_fault_spec(env["SIM_FAULTS"]))
    for spec in args.fault:
        faults.update(parse_fault_spec(spec))
    unknown = set(faults) - set(FAULT_NAMES)
    if unknown:
        raise SystemExit(f"unknown fault(s): {', '.join(sorted(unknown))}")
    cfg.faults = faults
    seed = pick(args.fault_seed, "FAULT_SEED")
    cfg.fault_seed = int(seed) if seed is not None else None
    no_fetch = args.no_fetch_sources or _env_bool(env.get("SIM_NO_FETCH_SOURCES"))
    cfg.fetch_sources = not no_fetch
    long_side = pick(args.long_side, "LONG_SIDE")
    if long_side is not None:
        cfg.long_side = max(64, int(long_side))
    size = pick(args.request_log_size, "REQUEST_LOG_SIZE")
    if size is not None:
        cfg.request_log_size = int(size)
    ready = pick(args.ready_file, "READY_FILE")
    cfg.ready_file = Path(ready) if ready else None
    cfg.quiet = bool(args.quiet or _env_bool(env.get("SIM_QUIET")))
    return cfg
