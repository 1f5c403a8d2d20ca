"""Gallery figures: server time and SQL queries of the team gallery page with
10,000 jobs in the database, of its page 200 (the address "Load older jobs"
leads to after 199 pages), its query count with 100 jobs, and the server
time of the page's live poll (the fallback of a page that cannot hold a
stream) with 20 jobs in flight.

Seeds a scratch database (SQLite in a temp dir, or DATABASE_URL's) with
bulk_create and measures in a child Django process with django.test.Client:
"server time" is the wall time around client.get, no network. The child runs
with the production template loader (cached) and DEBUG off, as a deployed
site does; the settings module is otherwise the scratch site's.

    .venv/bin/python bench/gallery.py [--runs 40]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

from stack import PY, ROOT, prepare, scratch_env

MOVED = 3  # of the 10 running jobs, those whose progress moves between two polls

# Runs in a child process with the scratch site's environment: seed, measure,
# print one JSON line. BENCH_RUNS is the number of timed requests per figure.
MEASURE = r'''
import html as htmllib, json, os, re, statistics, time, uuid
from datetime import timedelta

import django
django.setup()

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from gallery.models import Image, Job, LiveEvent, Membership, Role, Star, Team
from gallery.studio.live import events
from gallery.studio.views.jobs import PAGE_SIZE, cursor_of

RUNS = int(os.environ["BENCH_RUNS"])
TOTAL = 10_000
FLYING = 20
MOVED = int(os.environ["BENCH_MOVED"])
now = timezone.now()
start = now - timedelta(minutes=TOTAL + 30)

team = Team.objects.create(name="Bench Studio", slug="bench")
other = Team.objects.create(name="Other Studio", slug="other")
names = ["ana", "ben", "chloe", "dev", "eli", "fay"]
users = [User.objects.create_user(n) for n in names]
stranger = User.objects.create_user("zed")
viewer = users[0]
Membership.objects.bulk_create(
    [Membership(team=team, user=u, role=Role.ADMIN if u is viewer else Role.MEMBER) for u in users]
    + [Membership(team=other, user=stranger, role=Role.ADMIN)]
)
SUBJECTS = ["a lighthouse at dusk", "portrait of an old sailor", "a fox in the snow",
            "brutalist library interior", "koi pond from above", "a neon-lit alley in the rain"]
STYLES = ["oil painting", "35mm photo", "watercolour", "isometric render", "ink sketch"]
RATIOS = [("1:1", 1024, 1024), ("16:9", 1456, 816), ("2:3", 896, 1344), ("3:2", 1344, 896)]
IN_FLIGHT = ["queued", "submitting", "running", "running"]


def job_for(n, team, users, flying):
    """The n-th job ever made (older first); `flying` ones are still in progress."""
    ratio, width, height = RATIOS[n % len(RATIOS)]
    stylize = (n * 37) % 1000
    prompt = f"{SUBJECTS[n % 6]}, {STYLES[n % 5]}, variation {n} --ar {ratio} --s {stylize} --v 7"
    created = start + timedelta(minutes=n)
    status = IN_FLIGHT[n % 4] if flying else ("failed" if n % 61 == 0 else "completed")
    job = Job(
        team=team, user=users[n % len(users)], provider="evolink", operation="mj-v7",
        prompt_raw=prompt, prompt=prompt, params={"ar": ratio, "stylize": stylize, "version": "7"},
        speed="fast" if n % 3 else "turbo", client_request_id=uuid.uuid4().hex, status=status,
        progress=(n * 13) % 100 if status == "running" else 0, upstream_id=uuid.uuid4().hex,
        credits_reserved=79, credits_charged=None if flying else (0 if status == "failed" else 79),
        created=created, submitted_at=created, deadline=created + timedelta(minutes=25),
        finished_at=None if flying else created + timedelta(seconds=40),
        snapshot={  # the provider's last answer, as gallery.studio.pipeline keeps it
            "status": "completed" if status == "completed" else "processing",
            "upstream_status": status, "progress": 100 if status == "completed" else 0,
            "image_urls": [f"https://cdn.example/{n}/{i}.png?sig={'a' * 120}" for i in range(4)],
            "estimated_seconds": 45,
        },
        private=n % 97 == 0 and not flying,
        deleted_at=created if n % 89 == 0 and not flying else None,
    )
    if status == "failed":
        job.error_kind, job.error_code = "upstream", "moderation"
        job.error_message = "Prompt blocked"
    return job, (width, height)


def images_for(job, size):
    if job.status != "completed":
        return []
    count = 3 if job.pk % 41 == 0 else 4  # now and then one is filtered by moderation
    return [
        Image(
            job=job, index=i, status="stored",
            upstream_url=f"https://cdn.example/{job.upstream_id}/{i}.png",
            original=f"originals/{job.pk:06}-{i}-{job.upstream_id[:12]}.png",
            thumbnail=f"thumbs/{job.pk:06}-{i}-{job.upstream_id[:12]}.webp",
            width=size[0], height=size[1], bytes=1_400_000 + i, sha256=job.upstream_id * 2,
            created=job.finished_at,
        )
        for i in range(count)
    ]


def seed(first, last, team, users, flying_from):
    """Jobs first..last-1 (older first, so pk order is time order) and their images."""
    rows = [job_for(n, team, users, n >= flying_from) for n in range(first, last)]
    jobs = Job.objects.bulk_create([job for job, _ in rows], batch_size=500)
    images = [img for job, (_, size) in zip(jobs, rows) for img in images_for(job, size)]
    Image.objects.bulk_create(images, batch_size=1000)
    # The viewer has starred some of them.
    stars = [Star(user=viewer, job=job) for job in jobs if job.pk % 7 == 0 and not job.deleted_at]
    Star.objects.bulk_create(stars, batch_size=1000)
    return jobs


def page_cards(html):
    return html.count('<article class="job-card')


def poll_url(html, after):
    """The page's poll address (#live-stream's fallback) from the event `after`."""
    url = htmllib.unescape(re.search(r'id="live-poll" hx-get="([^"]+)"', html).group(1))
    return f"{url}&after={after}"


def cursor_in(fragment):
    return int(re.search(r'id="live-cursor" data-seq="(\d+)"', fragment).group(1))


client = Client()
client.force_login(viewer)
gallery_url = f"/t/{team.slug}/"


def measure(url, cards, runs):
    """(median ms, the SQL of one request, html) of `runs` GETs after a warm-up."""
    for _ in range(5):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    assert page_cards(html) == cards, (url, page_cards(html), html[-2000:])
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    queries = [q["sql"] for q in ctx.captured_queries]  # later requests clear the log
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), queries, html


# Production rendering: templates parsed once, no per-query debug bookkeeping.
engine = settings.TEMPLATES[0]
finders = engine["OPTIONS"]["loaders"][0][1]
cached = [("django.template.loaders.cached.Loader", finders)]
options = {**engine["OPTIONS"], "loaders": [("template_partials.loader.Loader", cached)]}
templates = [{**engine, "OPTIONS": options}]
out = {}
with override_settings(DEBUG=False, TEMPLATES=templates):
    # Another team's jobs, so visibility filtering has something to exclude.
    t0 = time.perf_counter()
    seed(0, 500, other, [stranger], flying_from=TOTAL)
    seed(0, 100, team, users, flying_from=TOTAL)
    ms, queries, _ = measure(gallery_url, PAGE_SIZE, RUNS // 2)
    out["gallery_ms_100"], out["gallery_queries_100"] = ms, len(queries)
    seed(100, TOTAL, team, users, flying_from=TOTAL)
    out["seed_s"] = time.perf_counter() - t0
    if connection.vendor == "postgresql":  # as autovacuum would have, after a bulk load
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    assert Job.objects.filter(team=team).count() == TOTAL
    ms, queries, _ = measure(gallery_url, PAGE_SIZE, RUNS)
    out["gallery_ms_10k"], out["gallery_queries_10k"] = ms, len(queries)
    out["gallery_sql"] = queries
    # Page 200: its address is the one page 199's "Load older jobs" gives, the
    # cursor of page 199's last card (found here with OFFSET, untimed).
    visible = Job.objects.visible_in(Membership.objects.get(team=team, user=viewer))
    deep = 200

    def after_page(page):
        return f"{gallery_url}?before={cursor_of(visible[page * PAGE_SIZE - 1])}"

    deep_url = after_page(deep - 1)
    _, _, html = measure(after_page(deep - 2), PAGE_SIZE, 1)
    assert f'href="{htmllib.escape(deep_url)}"' in html, "page 199 leads elsewhere"
    ms, queries, html = measure(deep_url, PAGE_SIZE, RUNS)
    first = visible[(deep - 1) * PAGE_SIZE].pk
    assert re.search(r'<article class="job-card[^"]*" id="job-(\d+)"', html).group(1) == str(first)
    out["gallery_deep_ms_10k"], out["gallery_deep_queries_10k"] = ms, len(queries)
    out["gallery_deep_sql"] = queries
    # Now 20 new jobs in flight, the page that shows them, and its poll, as
    # the browser sends it: each answer gives the cursor of the next. Between
    # two, the poller has moved some running jobs on (not timed) as it does,
    # the row and its live event in one transaction, so some bars are sent.
    new = seed(TOTAL, TOTAL + FLYING, team, users, flying_from=TOTAL)
    _, _, html = measure(gallery_url, PAGE_SIZE, 1)
    after = cursor_in(html)
    flying = Job.objects.filter(pk__in=[job.pk for job in new], status="running")
    running = list(flying.values_list("pk", "progress"))
    progress = dict(running)
    times = []
    for n in range(RUNS + 5):
        moved = [running[(n * MOVED + k) % len(running)][0] for k in range(MOVED)]
        for pk in moved:
            progress[pk] = (progress[pk] + 1) % 100
            with transaction.atomic():
                Job.objects.filter(pk=pk).update(progress=progress[pk])
                events.emit(team.pk, LiveEvent.Kind.PROGRESS, job_id=pk)
        url = poll_url(html, after)
        if n == 4:  # the last warm-up: its queries
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            out["poll_sql"] = [q["sql"] for q in ctx.captured_queries]
        else:
            t0 = time.perf_counter()
            response = client.get(url)
            if n > 4:
                times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
        fragment = response.content.decode()
        # Only progress moved: the page gets a new bar for each of those cards.
        sent = re.findall(r'<progress id="progress-(\d+)"[^>]*hx-swap-oob', fragment)
        assert sorted(map(int, sent)) == sorted(moved), (sent, moved)
        assert "<article" not in fragment
        after = cursor_in(fragment)
    out["poll_ms_20"] = statistics.median(times)
    out["poll_queries_20"] = len(out["poll_sql"])
    # For comparison: nothing happened since the last poll.
    out["poll_ms_20_quiet"], _, _ = measure(poll_url(html, after), 0, RUNS)
print(json.dumps(out))
'''


def run(runs: int) -> dict:
    env, scratch = scratch_env(
        "gallery",
        BENCH_RUNS=str(runs),
        BENCH_MOVED=str(MOVED),
        DJANGO_SETTINGS_MODULE="mjweb.settings",
    )
    try:
        prepare(env)
        result = subprocess.run(
            [PY, "-c", MEASURE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        if result.returncode:
            raise RuntimeError(f"gallery measurement failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--sql", action="store_true", help="print the queries of each request")
    args, _ = parser.parse_known_args(argv)
    result = run(args.runs)
    if args.sql:
        for name in ("gallery_sql", "gallery_deep_sql", "poll_sql"):
            print(f"\n{name}:", *result[name], sep="\n  ", file=sys.stderr)
    print(f"  seeded in {result['seed_s']:.1f} s; {args.runs} timed requests each", file=sys.stderr)
    print(
        f"gallery   10,000 jobs: median {result['gallery_ms_10k']:.1f} ms, "
        f"{result['gallery_queries_10k']} queries "
        f"(100 jobs: {result['gallery_ms_100']:.1f} ms, {result['gallery_queries_100']} queries)"
    )
    print(
        f"page 200  10,000 jobs: median {result['gallery_deep_ms_10k']:.1f} ms, "
        f"{result['gallery_deep_queries_10k']} queries "
        f"({result['gallery_deep_ms_10k'] / result['gallery_ms_10k']:.2f} × the first page)"
    )
    print(
        f"poll      20 in flight, {MOVED} moved on since the last: median "
        f"{result['poll_ms_20']:.1f} ms, {result['poll_queries_20']} queries "
        f"(none moved: {result['poll_ms_20_quiet']:.1f} ms)"
    )
    return {
        "gallery_ms_10k": round(result["gallery_ms_10k"], 1),
        "gallery_queries_10k": result["gallery_queries_10k"],
        "gallery_queries_100": result["gallery_queries_100"],
        "gallery_deep_ms_10k": round(result["gallery_deep_ms_10k"], 1),
        "gallery_deep_queries_10k": result["gallery_deep_queries_10k"],
        "poll_ms_20": round(result["poll_ms_20"], 2),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
