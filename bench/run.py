"""make bench: run every measurement, print a table, write bench/results.json.

Loopback only, bounded in time, each part on a scratch database of its own
(SQLite, or a new database on the DATABASE_URL server). The figures and their
targets are DESIGN.md §6; bench/README.md explains each and records the
before/after of the work done on them.

    .venv/bin/python bench/run.py [--only gallery,pipeline,...]
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is scripts, not a package

PARTS = ("gallery", "ingest", "submit", "memory", "pipeline", "live")

# figure: (target as text, test of a measured value)
TARGETS = {
    "gallery_ms_10k": ("median ≤ 30 ms", lambda v: v <= 30),
    "gallery_queries_10k": ("≤ 8, same as at 100", lambda v: v <= 8),
    "gallery_queries_100": ("≤ 8", lambda v: v <= 8),
    "poll_ms_20": ("median ≤ 10 ms", lambda v: v <= 10),
    "visible_after_complete_ms_p95_poll": ("≤ interval + 1 s = 3000 ms", lambda v: v <= 3000),
    "visible_after_complete_ms_p95_callback": ("≤ 500 ms", lambda v: v <= 500),
    "ingest_ratio": ("≤ 1.5 × Pillow alone", lambda v: v <= 1.5),
    "status_reads_per_job": ("≤ 4 s / 2 s + 2 = 4", lambda v: v <= 4),
    "worker_rss_mb_500": ("≤ 200 MB", lambda v: v <= 200),
    "submit_per_s": ("≥ 50 per second", lambda v: v >= 50),
    "visible_in_page_ms_p95": ("≤ 500 ms", lambda v: v <= 500),
    "created_visible_ms_p95": ("≤ 300 ms", lambda v: v <= 300),
    "idle_requests_per_min": ("= 0", lambda v: v == 0),
    "streams_held": ("≥ 500 (pages p95 < 100 ms)", lambda v: v >= 500),
}
# figure: (target as text, the figure it is held against, test of (value, that figure))
RELATIVE = {
    "gallery_deep_ms_10k": ("≤ 1.2 × gallery_ms_10k", "gallery_ms_10k", lambda v, o: v <= 1.2 * o),
    "gallery_deep_queries_10k": (
        "= gallery_queries_10k",
        "gallery_queries_10k",
        lambda v, o: v == o,
    ),
}


def met(name: str, value: float | None, figures: dict[str, float]) -> str:
    if name in RELATIVE:
        _, other_name, relation = RELATIVE[name]
        other = figures.get(other_name)
        if value is None or other is None or math.isnan(value) or math.isnan(other):
            return ""
        return "yes" if relation(value, other) else "NO"
    _, test = TARGETS.get(name, ("", None))
    if test is None or value is None or math.isnan(value):
        return ""
    return "yes" if test(value) else "NO"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    failed: list[str] = []
    started = time.monotonic()
    for part in args.only.split(","):
        print(f"\n== {part} ==", flush=True)
        begun = time.monotonic()
        try:
            figures.update(importlib.import_module(part).main([]))
        except Exception:  # one broken part must not hide the others' figures
            traceback.print_exc()
            failed.append(part)
        print(f"   ({time.monotonic() - begun:.0f} s)", flush=True)
    out = Path(__file__).resolve().parent / "results.json"
    out.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"\n{'figure':44} {'measured':>10}  {'target':30} met")
    targets = {name: text for name, (text, *_) in {**TARGETS, **RELATIVE}.items()}
    for name in [*targets, *sorted(set(figures) - set(targets))]:
        value = figures.get(name)
        shown = "—" if value is None else f"{value:g}"
        print(f"{name:44} {shown:>10}  {targets.get(name, ''):30} {met(name, value, figures)}")
    print(f"\nwritten to {out} in {time.monotonic() - started:.0f} s")
    if failed:
        print(f"these parts failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
