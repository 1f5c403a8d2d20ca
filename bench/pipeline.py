"""Pipeline figures: status reads per job, and upstream completion → thumbnails
visible in the page's live fragment, with polling only and with callbacks.

Runs the real processes on loopback against a scratch SQLite database: the
simulator, the django-q2 cluster, the poller, and (for callbacks) the web
server. Prints a table and returns the figures; `bench/run.py` collects them.

    .venv/bin/python bench/pipeline.py [--jobs 50] [--duration 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

import httpx
from stack import (
    PY,
    free_port,
    manage,
    percentile,
    prepare,
    processes,
    scratch_env,
    simulator_command,
    wait_for,
)


def run(jobs: int, duration: float, callbacks: bool) -> dict:
    sim_port, web_port = free_port(), free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    env, scratch = scratch_env(
        "bench",
        EVOLINK_BASE_URL=f"{sim}/evolink",
        EVOLINK_API_KEY="sim-key",
        MJWEB_PROVIDER_CONCURRENCY=str(jobs),
        MJWEB_WORKERS="2",
    )
    if callbacks:
        env["MJWEB_PUBLIC_URL"] = f"http://127.0.0.1:{web_port}"
    prepare(env)
    manage(env, "add_member", "bench", "runner", "--credits", "1000000")
    commands = [
        simulator_command(
            sim_port,
            scratch / "sim",
            *("--long-side", "512", "--duration-fast", str(duration), "--callback-delays", "1,2,4"),
        ),
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
    p95 = percentile(latencies, 0.95)
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
