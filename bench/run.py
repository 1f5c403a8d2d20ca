"""make bench: run the measurements, print a table, write bench/results.json.

Loopback only and bounded in time. So far it measures the pipeline figures
(bench/pipeline.py); the gallery, refresh, ingest, memory and submission
figures of DESIGN.md §6 are still to come.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pipeline  # bench/ is a folder of scripts, not a package

TARGETS = {
    "visible_after_complete_ms_p95_poll": "≤ poll interval + 1 s (3000 ms at 2 s)",
    "visible_after_complete_ms_p95_callback": "≤ 500 ms",
    "status_reads_per_job": "≤ duration / interval + 2",
}


def main() -> None:
    sys.argv = [sys.argv[0], "--jobs", "50", "--duration", "4"]
    figures = pipeline.main()
    out = Path(__file__).resolve().parent / "results.json"
    out.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print()
    print(f"{'figure':42} {'measured':>10}  target")
    for name, value in sorted(figures.items()):
        print(f"{name:42} {value:>10}  {TARGETS.get(name, '')}")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
