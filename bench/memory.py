"""Memory figure: resident memory of the worker with 500 jobs in flight.

Runs the real processes on loopback against a scratch database: the simulator
(every task carries the `[sim:hold]` marker, so it stays processing and is
polled, backing off, for as long as the bench watches), the django-q2 cluster
(`manage.py qcluster`, which submits the jobs) and the poller (`manage.py
poller`, which reads their status). 500 jobs are created the way Generate
does (`pipeline.create`); the provider concurrency and the member's in-flight
cap are raised so all 500 are sent upstream. Once all 500 are running, RSS is
sampled every second for `--watch` seconds while the poller reads them.

"The worker" is the django-q2 cluster, `worker=manage.py qcluster` in
bin/serve: its whole process tree (the qcluster process, the sentinel, the
pusher, the monitor and MJWEB_WORKERS worker processes: 6 by default), read
from /proc. Two sums are reported, both the peak of the samples:

- `worker_rss_mb_500`: the sum of VmRSS. The cluster forks its processes from
  a parent that has already loaded Django and the app (~47 MB), and RSS counts
  every page a process maps, shared or not, so this sum counts those shared
  pages once per process: six processes cost ~300 MB by this measure before
  the first job, whatever the jobs do.
- `worker_pss_mb_500`: the sum of PSS (/proc/<pid>/smaps_rollup), where a
  page shared by n processes counts 1/n in each: the memory the tree really
  holds, what the machine gets back when it stops.

The poller, bin/serve's separate `poller=` process, is reported on its own
(`poller_rss_mb_500`).

    .venv/bin/python bench/memory.py [--jobs 500] [--watch 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from stack import (
    PY,
    free_port,
    manage,
    prepare,
    processes,
    scratch_env,
    simulator_command,
    wait_for,
)

# Runs inside `manage.py shell`: create the jobs the way Generate does; the
# simulator holds every one of them in "processing".
CREATE_HELD_JOBS = """
import json
from gallery.studio import pipeline
from gallery.models import CreditAccount, Membership
from gallery.catalog.operations import Request
m = Membership.objects.get(team__slug="bench", user__username="runner")
CreditAccount.objects.filter(membership=m).update(max_in_flight=30000)  # a smallint on PostgreSQL
ids = []
for n in range(JOBS):
    prompt = f"bench job {n} [sim:hold]"
    r = Request(operation="mj-v7", provider="evolink", prompt=prompt, speed="fast")
    ids.append(pipeline.create(m, pipeline.Draft(request=r)).pk)
print(json.dumps(ids))
"""

COUNT = """
import json
from django.db.models import Count, Sum
from gallery.models import Job
by = dict(Job.objects.values_list("status").annotate(n=Count("pk")))
polls = Job.objects.aggregate(n=Sum("poll_count"))["n"] or 0
print(json.dumps({"by_status": by, "polls": polls}))
"""


def _status(pid: int, field: str) -> int:
    """A kB field of /proc/<pid>/status (VmRSS), 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def tree(pid: int) -> list[int]:
    """pid and all its descendants, via /proc/<pid>/task/*/children."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def sample(pid: int) -> dict:
    pids = tree(pid)
    rss = [_status(p, "VmRSS") for p in pids]
    return {
        "processes": len([r for r in rss if r]),
        "rss_mb": sum(rss) / 1024,
        "pss_mb": sum(_pss(p) for p in pids) / 1024,
        "each_mb": sorted((round(r / 1024, 1) for r in rss if r), reverse=True),
    }


def settle_cluster(pid: int, timeout: float = 60) -> None:
    """Wait until the cluster has forked all its processes and they are idle."""
    deadline, last, steady = time.monotonic() + timeout, -1, 0
    while time.monotonic() < deadline and steady < 3:
        count = len(tree(pid))
        steady = steady + 1 if count == last and count > 3 else 0
        last = count
        time.sleep(1)


def counts(env: dict) -> dict:
    return json.loads(manage(env, "shell", "-c", COUNT).strip().splitlines()[-1])


def run(jobs: int, watch: float, deadline_s: float = 240) -> dict:
    sim_port = free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    env, scratch = scratch_env(
        "memory",
        EVOLINK_BASE_URL=f"{sim}/evolink",
        EVOLINK_API_KEY="sim-key",
        MJWEB_PROVIDER_CONCURRENCY=str(jobs * 2),
        # Poll well before the submit recheck so no held job is failed as stuck.
        MJWEB_SUBMIT_TIMEOUT="600",
        MJWEB_QUEUE_RECHECK="600",
    )
    prepare(env)
    manage(env, "add_member", "bench", "runner", "--credits", "100000000")
    commands = [
        simulator_command(sim_port, scratch / "sim", "--long-side", "256", "--duration-fast", "8"),
        [PY, "manage.py", "qcluster"],
        [PY, "manage.py", "poller"],
    ]
    with processes(env, *commands, log_dir=scratch / "logs") as procs:
        wait_for(f"{sim}/_sim/health")
        settle_cluster(procs[1].pid)
        idle = {"worker": sample(procs[1].pid), "poller": sample(procs[2].pid)}
        print(
            f"  idle: worker {idle['worker']['rss_mb']:.0f} MB, "
            f"poller {idle['poller']['rss_mb']:.0f} MB; creating {jobs} held jobs",
            file=sys.stderr,
        )
        started = time.monotonic()
        manage(env, "shell", "-c", CREATE_HELD_JOBS.replace("JOBS", str(jobs)))
        created_s = time.monotonic() - started
        while True:
            state = counts(env)
            running = state["by_status"].get("running", 0)
            if running >= jobs:
                break
            if time.monotonic() - started > deadline_s:
                raise RuntimeError(f"only {state['by_status']} after {deadline_s:.0f} s")
            time.sleep(2)
        submitted_s = time.monotonic() - started
        print(
            f"  {jobs} created in {created_s:.0f} s, all running after {submitted_s:.0f} s; "
            f"watching {watch:g} s",
            file=sys.stderr,
        )
        polls_before = state["polls"]
        worker, poller = [], []
        end = time.monotonic() + watch
        while time.monotonic() < end:
            worker.append(sample(procs[1].pid))
            poller.append(sample(procs[2].pid))
            time.sleep(1)
        state = counts(env)
        if state["by_status"].get("running", 0) != jobs:
            raise RuntimeError(f"jobs left running during the watch: {state['by_status']}")
    peak = max(worker, key=lambda s: s["rss_mb"])
    return {
        "idle": idle,
        "worker": peak,
        "worker_pss_mb": max(s["pss_mb"] for s in worker),
        "poller": max(poller, key=lambda s: s["rss_mb"]),
        "reads_during_watch": state["polls"] - polls_before,
        "submitted_s": submitted_s,
    }


def main(argv: list[str] | None = None) -> dict:
    """The figures; `argv` are this script's options (none when bench/run.py calls it)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--watch", type=float, default=20.0)
    args = parser.parse_args(argv or [])
    r = run(args.jobs, args.watch)
    w, p = r["worker"], r["poller"]
    print(
        f"worker (qcluster tree, {w['processes']} processes) with {args.jobs} jobs in flight: "
        f"RSS {w['rss_mb']:.0f} MB (PSS {r['worker_pss_mb']:.0f} MB; idle "
        f"{r['idle']['worker']['rss_mb']:.0f} MB) per process {w['each_mb']}"
    )
    print(
        f"poller: RSS {p['rss_mb']:.0f} MB (idle {r['idle']['poller']['rss_mb']:.0f} MB); "
        f"{r['reads_during_watch']} status reads in {args.watch:g} s; "
        f"all submitted after {r['submitted_s']:.0f} s"
    )
    return {
        "worker_rss_mb_500": round(w["rss_mb"], 1),
        "worker_pss_mb_500": round(r["worker_pss_mb"], 1),
        "poller_rss_mb_500": round(p["rss_mb"], 1),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(json.dumps(main(sys.argv[1:])))
