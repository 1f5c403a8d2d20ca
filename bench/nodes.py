"""One web node against two, on this machine: the figures of docs/deploy.md.

Needs PostgreSQL (two nodes cannot share SQLite): run it under bin/with-postgres,

    bin/with-postgres .venv/bin/python bench/nodes.py [--seconds 10] [--pages 200]

For one node and then for two, on a new scratch database each time: 20 members
of team "bench" with tokens and plenty of credits, 2,000 finished jobs of four
images in the gallery, then each node's web server started as deployed (the
same server command bin/serve runs, 2 workers each, DEBUG off). Measured:

- `submits_per_s`: 20 client threads POST generations to the team API for
  `--seconds`, client n on node n mod N (a round-robin load balancer), median
  of 3 runs of accepted creations per second; every accepted task is then
  checked for its job, reserve entry and queued submit task (bench/submit.py).
- `gallery_ms_p50` / `_p95`: a signed-in member's gallery page (48 cards of
  the 2,000 jobs), `--pages` requests from 4 threads spread over the nodes,
  with nothing else running.

No cluster or poller runs (nothing is sent upstream): the figures are the web
tier's. Every process of every node shares this machine's two cores with the
database and the clients, so a second node adds processes, not CPU: the
figures say what a second node costs here, not what it gains on its own
machine.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import secrets
import statistics
import sys
import threading
import time

import httpx
from stack import (
    free_port,
    manage,
    percentile,
    prepare,
    processes,
    scratch_env,
    wait_for,
    web_command,
)
from submit import CHECK, CREDITS, MEMBERS, client, other, verify

SEED_JOBS = 2000

# Runs inside `manage.py shell`: the gallery's jobs and a signed-in session for client0.
SEED = """
import json, uuid
from datetime import timedelta
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.utils import timezone
from gallery.models import Image, Job, Team
team = Team.objects.get(slug="bench")
user = User.objects.get(username="client0")
start = timezone.now() - timedelta(days=30)
jobs = Job.objects.bulk_create([
    Job(team=team, user=user, provider="evolink", operation="mj-v7", speed="fast",
        prompt_raw=f"a lighthouse, variation {n}", prompt=f"a lighthouse, variation {n}",
        params={"ar": "1:1"}, client_request_id=uuid.uuid4().hex, status="completed",
        upstream_id=uuid.uuid4().hex, credits_reserved=79, credits_charged=79,
        created=start + timedelta(minutes=n), deadline=start + timedelta(minutes=n + 25),
        finished_at=start + timedelta(minutes=n, seconds=40))
    for n in range(JOBS)
], batch_size=500)
Image.objects.bulk_create([
    Image(job=job, index=i, status="stored", upstream_url=f"https://cdn.example/{job.pk}/{i}.png",
          original=f"originals/{job.pk:06}-{i}.png", thumbnail=f"thumbs/{job.pk:06}-{i}.webp",
          width=1024, height=1024, bytes=1_400_000, sha256=job.upstream_id * 2,
          created=job.finished_at)
    for job in jobs for i in range(4)
], batch_size=1000)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps(session.session_key))
"""


def submits(urls: list[str], tokens: list[str], seconds: float) -> dict:
    out = {"ok": 0, "ids": [], "statuses": collections.Counter(), "errors": collections.Counter()}
    out["latencies"] = []
    lock = threading.Lock()
    start = time.monotonic()
    until = start + seconds
    threads = [
        threading.Thread(target=client, args=(urls[n % len(urls)], token, n, until, out, lock))
        for n, token in enumerate(tokens)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out["elapsed"] = time.monotonic() - start
    out["rate"] = out["ok"] / out["elapsed"]
    return out


def gallery_times(bases: list[str], session: str, pages: int) -> list[float]:
    times: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def reader(n: int) -> None:
        cookies = {"sessionid": session}
        with httpx.Client(timeout=30, cookies=cookies) as http:
            for i in range(n, pages, 4):
                url = f"{bases[i % len(bases)]}/t/bench/"
                start = time.perf_counter()
                response = http.get(url)
                elapsed = (time.perf_counter() - start) * 1000
                with lock:
                    if response.status_code != 200 or 'class="job-card' not in response.text:
                        failures.append(f"gallery page from {url}: {response.status_code}")
                    else:
                        times.append(elapsed)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} gallery pages failed, first: {failures[0]}")
    return times


def run(nodes: int, seconds: float, pages: int, clients: int = 20) -> dict:
    ports = [free_port() for _ in range(nodes)]
    env, scratch = scratch_env(
        f"nodes{nodes}",
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(60),
        SECURE_SSL_REDIRECT="False",
        MJWEB_PUBLIC_URL=f"http://127.0.0.1:{ports[0]}",
        MJWEB_API_RATE_LIMIT="1000000",
    )
    prepare(env)
    manage(env, "collectstatic", "--noinput", "-v0")  # as bin/serve does with DEBUG off
    script = MEMBERS.replace("CLIENTS", str(clients)).replace("CREDITS", str(CREDITS))
    tokens = json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])
    seeded = manage(env, "shell", "-c", SEED.replace("JOBS", str(SEED_JOBS)))
    session = json.loads(seeded.strip().splitlines()[-1])
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    commands = [web_command(port) for port in ports]
    with processes(env, *commands, log_dir=scratch / "logs"):
        for base in bases:
            wait_for(f"{base}/healthz")
        gallery_times(bases, session, 8)  # warm up every worker's imports and templates
        times = gallery_times(bases, session, pages)
        urls = [f"{base}/api/v1/images/generations" for base in bases]
        submits(urls, tokens[:2], 1.0)
        runs = [submits(urls, tokens, seconds) for _ in range(3)]
    ids = [int(i.rpartition("-")[2]) for r in runs for i in r["ids"]]
    ids_file = scratch / "ids.json"
    ids_file.write_text(json.dumps(ids))
    check = json.loads(
        manage(env, "shell", "-c", CHECK.replace("IDS", str(ids_file))).strip().splitlines()[-1]
    )
    problems = verify(check, len(ids))
    for r in runs:
        print(
            f"  {nodes} node(s): {r['ok']} accepted in {r['elapsed']:.1f} s = {r['rate']:.1f}/s; "
            f"other answers {other(r['statuses'])} errors {dict(r['errors'])}",
            file=sys.stderr,
        )
    return {
        "submits_per_s": round(statistics.median(r["rate"] for r in runs), 1),
        "gallery_ms_p50": round(percentile(times, 0.5), 1),
        "gallery_ms_p95": round(percentile(times, 0.95), 1),
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench/nodes.py needs PostgreSQL: run it under bin/with-postgres")
    figures = {n: run(n, args.seconds, args.pages) for n in (1, 2)}
    print(json.dumps(figures, indent=2))
    if any(f["problems"] for f in figures.values()):
        sys.exit(1)
    return figures


if __name__ == "__main__":
    main()
