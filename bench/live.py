"""Live figures (issue 18), measured in a real page on the real stack.

Starts, on loopback over a scratch database, what `make serve` deploys — the
web server (gunicorn with uvicorn workers, mjweb.asgi, 2 processes), the
django-q2 cluster and the poller — and the simulator with callbacks. Team
"bench" has alice (admin, with an API token) and bob, and 48 finished jobs so
that bob's gallery is a full page of 48 cards.

1. Headless Chromium (/usr/bin/chromium through Playwright) opens bob's
   gallery. An init script the bench adds (not the site's code) watches the
   page with a MutationObserver and notes, for each job, when its card first
   appears and when all of its thumbnails are decoded (`img.decode()`).
   alice then submits `--jobs` generations through the team API,
   `--spacing` seconds apart:
   - `created_visible_ms_p95`: the start of alice's submit → the card in
     bob's page;
   - `visible_in_page_ms_p95`: the simulator's completion instant of the
     task (its `completed_at`, as bench/pipeline.py reads it) → the job's
     thumbnails decoded in bob's page.
2. `idle_requests_per_min`: every request bob's page makes over `--idle`
   seconds once everything has finished (its stream was opened before).
3. `streams_held`: raw asyncio clients with bob's session hold the gallery's
   stream, in steps of `--steps`; at each step the 48-card gallery is asked
   for `--pages` times, one after another. The figure is the highest step
   whose page p95 is under 100 ms; `stream_memory_kb` is the web processes'
   VmRSS growth ÷ the streams added, from none to the last step held.

The run is broken (exit status 1, RuntimeError from main()) when the page
missed a job, fell back to polling, a stream did not say hello or a step
could not be opened; a missed target is printed, not an error.

    .venv/bin/python bench/live.py [--jobs 40] [--spacing 0.5] [--idle 60]
                                   [--steps 100,250,500,750,1000] [--pages 40]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

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
    web_command,
)

CHROMIUM = "/usr/bin/chromium"
TEAM = "bench"
TARGETS = {
    "visible_in_page_ms_p95": ("≤ 500 ms", lambda v: v <= 500),
    "created_visible_ms_p95": ("≤ 300 ms", lambda v: v <= 300),
    "idle_requests_per_min": ("= 0", lambda v: v == 0),
    "streams_held": ("≥ 500 with pages < 100 ms p95", lambda v: v >= 500),
}

# Runs inside `manage.py shell`: the team, its two members, 48 finished jobs.
SETUP = """
import json
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from gallery.credits import ledger
from gallery.models import ApiToken, Membership, Team
from tests.factories import finished_job
team = Team.objects.create(slug="TEAM", name="TEAM")
members = {}
for name, role in (("alice", "admin"), ("bob", "member")):
    user = User.objects.create(username=name)
    members[name] = Membership.objects.create(team=team, user=user, role=role)
    account = ledger.account_for(members[name])
    account.max_in_flight = 1000
    account.save(update_fields=["max_in_flight"])
    ledger.grant(account=account, amount=1_000_000, by=None, reason="bench")
for n in range(48):
    finished_job(members["bob"].user, team, prompt=f"an earlier job {n}")
client = Client()
client.force_login(members["bob"].user)
cookie = settings.SESSION_COOKIE_NAME
print(json.dumps({
    "token": ApiToken.issue(members["alice"], "bench")[1],
    "cookie": [cookie, client.cookies[cookie].value],
}))
"""

# Runs inside `manage.py shell`: each job's upstream task and final status.
UPSTREAM = """
import json
from gallery.models import Job
print(json.dumps({pk: [up, st] for pk, up, st in
    Job.objects.filter(pk__in=IDS).values_list("pk", "upstream_id", "status")}))
"""

# Added to bob's page by the bench (Playwright's add_init_script), not by the
# site: wall-clock instants (ms since the epoch, as the simulator's are) of
# each card's first appearance and of all its thumbnails being decoded.
OBSERVER = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const seen = { card: {}, decoded: {}, hello: 0 };
  window.__bench = seen;
  const Source = window.EventSource;
  window.EventSource = function (url, options) {
    const source = new Source(url, options);
    source.addEventListener("hello", () => { seen.hello += 1; });
    return source;
  };
  window.EventSource.prototype = Source.prototype;
  function look(card) {
    const id = card.id.slice(4);
    if (!(id in seen.card)) seen.card[id] = now();
    const imgs = Array.from(card.querySelectorAll("img"));
    if (!imgs.length || id in seen.decoded) return;
    Promise.all(imgs.map((img) => img.decode())).then(
      () => { if (!(id in seen.decoded)) seen.decoded[id] = now(); },
      () => {}  // not loaded yet or replaced: a later mutation looks again
    );
  }
  function scan(root) {
    if (root.nodeType !== 1) return;
    if (root.matches('article[id^="job-"]')) look(root);
    root.querySelectorAll('article[id^="job-"]').forEach(look);
    const card = root.closest && root.closest('article[id^="job-"]');
    if (card) look(card);
  }
  new MutationObserver((records) => {
    for (const r of records) {
      r.addedNodes.forEach(scan);
      if (r.type === "attributes") scan(r.target);
    }
  }).observe(document, { childList: true, subtree: true, attributes: true,
                         attributeFilter: ["src"] });
  document.addEventListener("DOMContentLoaded", () => scan(document.documentElement));
})();
"""


def raise_file_limit(wanted: int) -> int:
    # Each held stream is a socket here and one in a web process (which
    # inherits this limit): 1000 streams need more than the usual 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def web_workers(master: int) -> list[int]:
    """The gunicorn master's children: the processes that hold the streams."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == master:
                pids.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return pids


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(status.split("VmRSS:")[1].split()[0])
    return total


def wait_in(page, check: str, arg: object, timeout: float) -> None:
    # Asked from here with page.evaluate: the page's CSP (no 'unsafe-eval')
    # refuses Playwright's wait_for_function, and the bench must not lift it.
    deadline = time.monotonic() + timeout
    while not page.evaluate(check, arg):
        if time.monotonic() > deadline:
            state = page.evaluate("window.__bench")
            raise RuntimeError(f"the page never satisfied {check}: {state}")
        page.wait_for_timeout(100)


def in_page(base: str, cookie: list[str], token: str, jobs: int, spacing: float, idle: float):
    """Steps 1 and 2 in one Chromium page; returns what the page and alice saw."""
    from playwright.sync_api import sync_playwright

    submitted: dict[int, float] = {}
    requests: list[tuple[float, str]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": cookie[0], "value": cookie[1], "url": base}])
        context.add_init_script(OBSERVER)
        page = context.new_page()
        page.on("request", lambda r: requests.append((time.monotonic(), r.url)))
        page.goto(f"{base}/t/{TEAM}/")
        wait_in(page, "() => window.__bench.hello >= 1", None, 15)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
            for n in range(jobs):
                speed = {"speed": "fast"}
                body = {"model": "mj-v7", "prompt": f"live bench {n}", "model_params": speed}
                started = time.time()
                answer = api.post("/api/v1/images/generations", json=body)
                if answer.status_code != 200:
                    raise RuntimeError(f"submit {n}: {answer.status_code} {answer.text[:300]}")
                submitted[int(answer.json()["id"].rpartition("-")[2])] = started
                time.sleep(spacing)
        ids = list(submitted)
        every = "(ids) => ids.every((id) => id in window.__bench.decoded)"
        wait_in(page, every, [str(i) for i in ids], 180)
        page.wait_for_timeout(1000)  # the last events settle before the idle window
        window_start = time.monotonic()
        page.wait_for_timeout(idle * 1000)
        idle_requests = [url for at, url in requests if at >= window_start]
        seen = page.evaluate("window.__bench")
        browser.close()
    return submitted, seen, idle_requests, [url for _, url in requests]


async def hold_streams(
    base: str, stream_path: str, cookie: list[str], steps: list[int], pages: int, master: int
) -> list[dict]:
    """Step 3: raw SSE clients in steps, the gallery timed at each."""
    host, port = base.removeprefix("http://").split(":")
    request = (
        f"GET {stream_path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Cookie: {cookie[0]}={cookie[1]}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    held: list[tuple[asyncio.StreamWriter, asyncio.Task]] = []
    ended = 0

    async def drain(reader: asyncio.StreamReader) -> None:
        nonlocal ended
        while await reader.read(65536):
            pass
        ended += 1

    async def open_one() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request)
        seen = b""
        while b"event: hello" not in seen:
            chunk = await asyncio.wait_for(reader.read(65536), 30)
            if not chunk:
                raise RuntimeError(f"a stream ended before hello: {seen[:300]!r}")
            seen += chunk
        held.append((writer, asyncio.create_task(drain(reader))))

    results = []
    workers = web_workers(master)
    async with httpx.AsyncClient(base_url=base, cookies=dict([cookie]), timeout=30) as client:

        async def timed() -> list[float]:
            times = []
            for _ in range(pages):
                started = time.perf_counter()
                answer = await client.get(f"/t/{TEAM}/")
                times.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200 or answer.text.count('id="job-') < 48:
                    raise RuntimeError(f"the gallery answered {answer.status_code} under load")
            return times

        await timed()  # warm both processes (templates, connections, allocator)
        # The baseline: pages at no stream, and the memory the web processes
        # hold after serving them, so page-serving growth is not counted per stream.
        times, before = await timed(), rss_kb(workers)
        results.append({"streams": 0, "p95_ms": percentile(times, 0.95), "rss_kb": before})
        print(f"      0 streams: gallery p95 {results[0]['p95_ms']:.1f} ms", file=sys.stderr)
        try:
            for step in steps:
                while len(held) < step:
                    batch = min(50, step - len(held))
                    await asyncio.gather(*(open_one() for _ in range(batch)))
                await asyncio.sleep(1)
                if ended:
                    raise RuntimeError(f"{ended} held streams ended early")
                times = await timed()
                rss = rss_kb(workers)
                results.append(
                    {
                        "streams": step,
                        "p95_ms": percentile(times, 0.95),
                        "p50_ms": statistics.median(times),
                        "rss_kb": rss,
                        "kb_per_stream": (rss - before) / step,
                    }
                )
                print(
                    f"  {step:5} streams: gallery p50 {results[-1]['p50_ms']:.1f} ms "
                    f"p95 {results[-1]['p95_ms']:.1f} ms; web RSS {rss / 1024:.0f} MB "
                    f"(+{(rss - before) / step:.1f} kB per stream)",
                    file=sys.stderr,
                )
        finally:
            for writer, task in held:
                task.cancel()
                writer.close()
    return results


def run(args: argparse.Namespace) -> dict:
    steps = [int(s) for s in args.steps.split(",")]
    raise_file_limit(2 * max(steps) + 1024)
    sim_port, web_port = free_port(), free_port()
    sim, base = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{web_port}"
    env, scratch = scratch_env(
        "live",
        EVOLINK_BASE_URL=f"{sim}/evolink",
        EVOLINK_API_KEY="sim-key",
        MJWEB_PROVIDER_CONCURRENCY=str(args.jobs),
        MJWEB_WORKERS="2",
        MJWEB_PUBLIC_URL=base,  # the simulator calls back
        MJWEB_API_RATE_LIMIT="1000000",
    )
    prepare(env)
    made = json.loads(manage(env, "shell", "-c", SETUP.replace("TEAM", TEAM)).splitlines()[-1])
    commands = [
        simulator_command(
            sim_port,
            scratch / "sim",
            *("--long-side", "512", "--duration-fast", str(args.duration)),
            *("--callback-delays", "1,2,4"),
        ),
        [PY, "manage.py", "qcluster"],
        [PY, "manage.py", "poller"],
        web_command(web_port),
    ]
    with processes(env, *commands, log_dir=scratch / "logs") as procs:
        wait_for(f"{sim}/_sim/health")
        wait_for(f"{base}/healthz")
        print(f"  stack up at {base} (logs in {scratch / 'logs'})", file=sys.stderr)
        submitted, seen, idle_requests, all_requests = in_page(
            base, made["cookie"], made["token"], args.jobs, args.spacing, args.idle
        )
        ids = sorted(submitted)
        upstream = json.loads(
            manage(env, "shell", "-c", UPSTREAM.replace("IDS", repr(ids))).splitlines()[-1]
        )
        tasks = {
            int(pk): httpx.get(f"{sim}/_sim/tasks/{up}", timeout=5).json()
            for pk, (up, _) in upstream.items()
        }
        gallery = httpx.get(f"{base}/t/{TEAM}/", cookies=dict([made["cookie"]]), timeout=30)
        stream_path = html.unescape(re.search(r'sse-connect="([^"]+)"', gallery.text).group(1))
        held = asyncio.run(
            hold_streams(base, stream_path, made["cookie"], steps, args.pages, procs[-1].pid)
        )
    problems = []
    statuses = {st for _, st in upstream.values()}
    if len(upstream) != args.jobs or statuses != {"completed"}:
        problems.append(f"jobs ended as {sorted(statuses)} ({len(upstream)} of {args.jobs})")
    missing = [i for i in ids if str(i) not in seen["card"] or str(i) not in seen["decoded"]]
    if missing:
        problems.append(f"the page never showed jobs {missing}")
    polled = [url for url in all_requests if "/live/poll/" in url]
    if polled or seen["hello"] != 1:
        problems.append(f"the page polled {len(polled)} times, {seen['hello']} stream hellos")
    if any(t.get("completed_at") is None for t in tasks.values()):
        problems.append("the simulator has tasks without a completion instant")
    if problems:  # the scratch directory stays, with the processes' logs
        raise RuntimeError("the live run is broken: " + "; ".join(problems))
    shutil.rmtree(scratch, ignore_errors=True)
    created = [seen["card"][str(i)] - submitted[i] * 1000 for i in ids]
    visible = [seen["decoded"][str(i)] - tasks[i]["completed_at"] * 1000 for i in ids]
    fine = [step for step in held if step["streams"] and step["p95_ms"] < 100]
    return {
        "created": created,
        "visible": visible,
        "idle": idle_requests,
        "held": held,
        "streams_held": max((s["streams"] for s in fine), default=0),
        "stream_memory_kb": held[-1]["kb_per_stream"],
    }


def main(argv: list[str] | None = None) -> dict:
    """The figures; `argv` are this script's options (none when bench/run.py calls it)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--spacing", type=float, default=0.5, help="seconds between submits")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds a task runs")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of the idle window")
    parser.add_argument("--steps", default="100,250,500,750,1000")
    parser.add_argument("--pages", type=int, default=40, help="gallery requests per step")
    args = parser.parse_args(argv or [])
    result = run(args)
    created, visible = result["created"], result["visible"]
    print(
        f"{args.jobs} jobs submitted {args.spacing:g} s apart by alice, seen in bob's page:\n"
        f"  submit → card p50 {statistics.median(created):.0f} ms "
        f"p95 {percentile(created, 0.95):.0f} ms\n"
        f"  completed upstream → thumbnails decoded p50 {statistics.median(visible):.0f} ms "
        f"p95 {percentile(visible, 0.95):.0f} ms"
    )
    print(f"  idle page, {args.idle:g} s: {len(result['idle'])} requests {result['idle'][:5]}")
    figures = {
        "visible_in_page_ms_p95": round(percentile(visible, 0.95), 1),
        "visible_in_page_ms_p50": round(statistics.median(visible), 1),
        "created_visible_ms_p95": round(percentile(created, 0.95), 1),
        "created_visible_ms_p50": round(statistics.median(created), 1),
        "idle_requests_per_min": round(len(result["idle"]) * 60 / args.idle, 1),
        "streams_held": result["streams_held"],
        "stream_memory_kb": round(result["stream_memory_kb"], 1),
    }
    for name, (target, test) in TARGETS.items():
        verdict = "met" if test(figures[name]) else "MISSED"
        print(f"  {name:26} {figures[name]:>8g}  target {target:30} {verdict}")
    return figures


if __name__ == "__main__":
    try:
        print(json.dumps(main(sys.argv[1:])))
    except RuntimeError as broken:
        print(f"live bench: {broken}", file=sys.stderr)
        sys.exit(1)
