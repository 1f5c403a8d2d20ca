"""Pipeline figures: status reads per job, and upstream completion → thumbnails
visible in the page's live fragment, with polling only and with callbacks.

Runs the real processes on loopback against a scratch database: the simulator,
the django-q2 cluster, the poller, and (for callbacks) gunicorn. Jobs of a
known duration are created `--spacing` seconds apart (a busy team's steady
flow: 50 jobs in 10 s), then once more all at once (the burst figure, for
information). Prints a table and returns the figures; `bench/run.py` collects
them.

    .venv/bin/python bench/pipeline.py [--jobs 50] [--duration 4] [--spacing 0.2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import httpx
from stack import (
    PY,
    ROOT,
    free_port,
    manage,
    percentile,
    prepare,
    processes,
    scratch_env,
    simulator_command,
    wait_for,
    web_command,
)


def run(jobs: int, duration: float, callbacks: bool, spacing: float) -> dict:
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
    if callbacks:  # the web server as deployed receives them
        commands.append(web_command(web_port))
    with processes(env, *commands):
        wait_for(f"{sim}/_sim/health")
        if callbacks:
            wait_for(f"http://127.0.0.1:{web_port}/healthz")
        print(f"  {len(commands)} processes up; {jobs} jobs {spacing:g} s apart", file=sys.stderr)
        script = CREATE_JOBS.replace("JOBS", str(jobs)).replace("SPACING", str(spacing))
        creating = subprocess.Popen(
            [PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
        )
        watch = WATCH.replace("JOBS", str(jobs))
        seen = json.loads(manage(env, "shell", "-c", watch).strip().splitlines()[-1])
        creating.wait(timeout=60)
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
import time
from gallery.studio import pipeline
from gallery.models import Membership, CreditAccount
from gallery.catalog.operations import Request
m = Membership.objects.get(team__slug="bench", user__username="runner")
CreditAccount.objects.filter(membership=m).update(max_in_flight=10000)
for n in range(JOBS):
    r = Request(operation="mj-v7", provider="evolink", prompt=f"bench job {n}", speed="fast")
    pipeline.create(m, pipeline.Draft(request=r))
    time.sleep(SPACING)
"""

# Runs inside `manage.py shell`: a browser tab on the gallery. It follows the
# page's own poll protocol (#live-poll's URL with the cursor each answer
# gives), asking every 50 ms rather than every 2 s, and notes when each job's
# card first comes with thumbnails. (A held stream would push the same
# fragments: bench/live.py measures that in a real browser.)
WATCH = """
import html, json, re, time
from django.contrib.auth.models import User
from django.test import Client
from gallery.models import Job
POLL = re.compile(r'id="live-poll" hx-get="([^"]+)"')
CURSOR = re.compile(r'id="live-cursor" data-seq="(\\d+)"')
CARD = re.compile(r'<article[^>]*id="job-(\\d+)"(.*?)</article>', re.S)
c = Client()
c.force_login(User.objects.get(username="runner"))
page = c.get("/t/bench/").content.decode()
url, after = html.unescape(POLL.search(page).group(1)), CURSOR.search(page).group(1)
visible, deadline = {}, time.time() + 180
while len(visible) < JOBS and time.time() < deadline:
    answer = c.get(f"{url}&after={after}").content.decode()
    now = time.time()
    after = CURSOR.search(answer).group(1)
    for pk, card in CARD.findall(answer):
        if "<img" in card:
            visible.setdefault(int(pk), now)
    if Job.objects.filter(status="failed").exists():
        break
    time.sleep(0.05)
upstream = dict(Job.objects.values_list("pk", "upstream_id"))
print(json.dumps({"visible_at": visible, "upstream": upstream}))
"""


MODES = {
    # name: (callbacks, spacing between creates or None for --spacing)
    "poll": (False, None),
    "callback": (True, None),
    # Every job completing within the same second: a stress figure, not a target.
    "callback_burst": (True, 0.0),
}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--spacing", type=float, default=0.2, help="seconds between creates")
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args(argv)
    figures = {}
    for mode in args.modes.split(","):
        callbacks, spacing = MODES[mode]
        spacing = args.spacing if spacing is None else spacing
        result = run(args.jobs, args.duration, callbacks=callbacks, spacing=spacing)
        print(
            f"{mode:15} jobs={result['jobs']:3} complete→visible p50={result['p50_ms']:.0f} ms "
            f"p95={result['p95_ms']:.0f} ms  reads/job={result['reads_per_job']:.2f} "
            f"(task {result['duration_s']:g} s, {spacing:g} s apart)"
        )
        figures[f"visible_after_complete_ms_p95_{mode}"] = round(result["p95_ms"], 1)
        figures[f"visible_after_complete_ms_p50_{mode}"] = round(result["p50_ms"], 1)
        if mode == "poll":
            figures["status_reads_per_job"] = round(result["reads_per_job"], 2)
    return figures


if __name__ == "__main__":
    print(json.dumps(main()))
