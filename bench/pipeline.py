"""Pipeline figures: status reads per job, and upstream completion → thumbnails
visible in the page's live fragment, with polling only and with callbacks.

Runs the real processes on loopback against a scratch SQLite database: the
simulator, the django-q2 cluster, the poller, and (for callbacks) the web
server. Prints a table and returns the figures; `bench/run.py` collects them.

    .venv/bin/python bench/pipeline.py [--jobs 50] [--duration 4]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

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


@contextmanager
def processes(env: dict, *commands: list[str]):
    procs = [
        subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for cmd in commands
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def run(jobs: int, duration: float, callbacks: bool) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="mjweb-bench-"))
    sim_port, web_port = free_port(), free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    env = {
        **os.environ,
        "DEBUG": "True",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "MJWEB_VAR_DIR": str(scratch),
        "MEDIA_ROOT": str(scratch / "media"),
        "MJWEB_PUBLIC_URL": f"http://127.0.0.1:{web_port}" if callbacks else "http://127.0.0.1:1",
        "EVOLINK_BASE_URL": f"{sim}/evolink",
        "EVOLINK_API_KEY": "sim-key",
        "MJWEB_PROVIDER_CONCURRENCY": str(jobs),
        "MJWEB_WORKERS": "2",
    }
    env.pop("DATABASE_URL", None)
    manage(env, "migrate", "-v0")
    manage(env, "createcachetable")
    manage(env, "add_member", "bench", "runner", "--credits", "1000000")
    commands = [
        [
            PY,
            "-m",
            "simulator",
            "--port",
            str(sim_port),
            "--data-dir",
            str(scratch / "sim"),
            "--quiet",
            "--long-side",
            "512",
            "--duration-fast",
            str(duration),
            "--callback-delays",
            "1,2,4",
        ],
        [PY, "manage.py", "qcluster"],
        [PY, "manage.py", "poller"],
    ]
    if callbacks:
        commands.append([PY, "manage.py", "runserver", f"127.0.0.1:{web_port}", "--noreload"])
    with processes(env, *commands):
        wait_for(f"{sim}/_sim/health")
        if callbacks:
            wait_for(f"http://127.0.0.1:{web_port}/healthz")
        print(f"  {len(commands)} processes up; creating {jobs} jobs", file=sys.stderr)
        script = CREATE_JOBS.replace("JOBS", str(jobs))
        ids = json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])
        print(f"  watching jobs {ids[0]}…{ids[-1]}", file=sys.stderr)
        watch = WATCH.replace("IDS", json.dumps(ids))
        seen = json.loads(manage(env, "shell", "-c", watch).strip().splitlines()[-1])
        tasks = {
            job_id: httpx.get(f"{sim}/_sim/tasks/{upstream}", timeout=5).json()
            for job_id, upstream in seen["upstream"].items()
        }
    latencies, reads = [], []
    for job_id, task in tasks.items():
        visible = seen["visible_at"].get(job_id)
        if visible is None or task.get("completed_at") is None:
            continue
        latencies.append((visible - task["completed_at"]) * 1000)
        reads.append(task["poll_count"])
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)] if latencies else float("nan")
    return {
        "jobs": len(latencies),
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p95_ms": p95,
        "reads_per_job": statistics.mean(reads) if reads else float("nan"),
        "duration_s": duration,
    }


# Runs inside `manage.py shell`: create the jobs the way Generate does.
CREATE_JOBS = """
import json
from gallery import pipeline
from gallery.models import Membership, CreditAccount
from gallery.operations import Request
m = Membership.objects.get(team__slug="bench", user__username="runner")
CreditAccount.objects.filter(membership=m).update(max_in_flight=10000)
ids = []
for n in range(JOBS):
    r = Request(operation="mj-v7", provider="evolink", prompt=f"bench job {n}", speed="fast")
    ids.append(pipeline.create(m, pipeline.Draft(request=r)).pk)
print(json.dumps(ids))
"""

# Runs inside `manage.py shell`: render the page's live fragment every 50 ms,
# as the browser would ask for it, and note when each job's thumbnails are in it.
WATCH = """
import json, time
from django.contrib.auth.models import User
from django.test import Client
from gallery.models import Job
ids = IDS
c = Client()
c.force_login(User.objects.get(username="runner"))
visible, deadline = {}, time.time() + 120
while len(visible) < len(ids) and time.time() < deadline:
    waiting = ",".join(str(i) for i in ids if i not in visible)
    html = c.get("/t/bench/live/", {"ids": waiting}).content.decode()
    now = time.time()
    for i in ids:
        if i not in visible and f'id="job-{i}"' in html:
            card = html.split(f'id="job-{i}"', 1)[1].split("</article>", 1)[0]
            if "<img" in card:
                visible[i] = now
    if Job.objects.filter(pk__in=ids, status="failed").exists():
        break
    time.sleep(0.05)
upstream = dict(Job.objects.filter(pk__in=ids).values_list("pk", "upstream_id"))
print(json.dumps({"visible_at": visible, "upstream": upstream}))
"""


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--duration", type=float, default=4.0)
    args = parser.parse_args()
    figures = {}
    for mode in ("poll", "callback"):
        result = run(args.jobs, args.duration, callbacks=mode == "callback")
        print(
            f"{mode:8} jobs={result['jobs']:3} complete→visible p50={result['p50_ms']:.0f} ms "
            f"p95={result['p95_ms']:.0f} ms  reads/job={result['reads_per_job']:.2f} "
            f"(task {result['duration_s']:g} s)"
        )
        figures[f"visible_after_complete_ms_p95_{mode}"] = round(result["p95_ms"], 1)
        if mode == "poll":
            figures["status_reads_per_job"] = round(result["reads_per_job"], 2)
    return figures


if __name__ == "__main__":
    print(json.dumps(main()))
