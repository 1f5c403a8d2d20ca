"""Load and soak: simulated team members use the whole site while the
upstream misbehaves, then everything must add up.

Starts a scratch site on loopback — the simulator with a fault mix, gunicorn
with uvicorn workers (as `make serve` runs it), the django-q2 cluster and the
poller — and lets MEMBERS people sign in through the real form and, for
SECONDS, browse the gallery while holding its live stream (a reader thread
each, reconnecting with its last event id as the page does), check and
Generate prompts (some private), open jobs, images and thumbnails, star,
cancel, read their credits, and use the API with their tokens. A member of
another team keeps trying the team's URLs, its stream included.

Every response is classified: expected (the page, a clear refusal such as the
in-flight cap) or an error (any 5xx, a timeout, a broken connection, an
unexpected status, another team's object answering anything but 404). Faults
are injected only upstream, so the site itself must show no errors at all.

When the time is up, submissions stop, every job must reach a final state
within the drain time, `check_ledger` must be clean, and every stored image
must be on disk; every member's stream must have said hello, and no stream
may have carried another member's private job. Prints a table and writes the
figures as JSON.

    .venv/bin/python bench/soak.py [--members 20] [--seconds 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
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

TEAM = "soak"
PASSWORD = "soak-password-1"  # noqa: S105 — a throwaway site on loopback

# Injected upstream: about one request or task in ten misbehaves in some way.
FAULTS = [
    "server_error:fraction=0.05,status=503,scope=poll",
    "rate_limit:fraction=0.03,retry_after=1,scope=poll",
    "server_error:fraction=0.03,status=502,scope=create",
    "server_error:fraction=0.05,scope=files",
    "task_failure:fraction=0.05,code=generation_failed",
    "moderation:fraction=0.05,images=2",
    "callback_duplicate:fraction=0.2",
    "callback_out_of_order:fraction=0.1",
    "drop:fraction=0.02,when=after,scope=create",
]

PROMPTS = [
    "a lighthouse at dusk, oil painting --ar 16:9",
    "isometric tiny greenhouse, soft light --s 250",
    "portrait of a fox in a tweed jacket --ar 3:4",
    "brutalist library interior, morning haze --chaos 10",
    "watercolour map of an invented island --ar 4:3",
    "macro photo of frost on a leaf --raw",
    "retro travel poster for the moon --ar 2:3 --s 400",
    "a bowl of ramen, studio lighting, top view",
]
# Prompt markers the simulator obeys: the app must refund these, not error.
MARKED = ["[sim:fail]", "[sim:images=2]", "[sim:fail=content_policy_violation]"]
BAD_PROMPTS = ["--ar 99:1 a cat", "a cat --chaos 500", "--v 6 a dog"]

JOB_ID = re.compile(r'id="job-(\d+)"')
IMAGE_ID = re.compile(r'href="/t/[\w-]+/images/(\d+)/"')
THUMB = re.compile(r'src="(/m/[^"]+)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ALERT = re.compile(r'role="alert"[^>]*>([^<]+)<')
BUSY = "Too many sign-ins are being checked right now"  # gallery/teams/forms_auth.py
CLIENT_ID = re.compile(r'name="client_request_id" value="([0-9a-f]+)"')


@dataclass
class Record:
    action: str
    status: int
    ms: float
    error: str = ""


@dataclass
class Tally:
    records: list[Record] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)


# A job's card or progress bar in a stream message; not the fragment that
# removes a card (`<div id="job-N" hx-swap-oob="delete">`), which is how a job
# made private leaves the others' pages.
STREAM_JOB = re.compile(r'id="(?:job|progress)-(\d+)"(?! hx-swap-oob="delete")')


class Stream(threading.Thread):
    """A member's open gallery page holding its live stream for the whole
    visit, as the page does: reconnects after `bye` or a cut with the last
    event id it had. Each connection is one record ("stream"): a 5xx, a
    refused or broken connection is an error. Notes every job id the stream
    carried and the newest event number that did, to check no one else's job
    reached it after it went private."""

    def __init__(self, member: Member):
        super().__init__(name=f"{member.username}-stream", daemon=True)
        self.member = member
        self.last: str | None = None
        self.hellos = 0
        self.seen: dict[int, int] = {}  # job id → the newest event number that carried it

    def run(self) -> None:
        m = self.member
        timeout = httpx.Timeout(30, read=40)  # the hub's heartbeat comes every 15 s
        with httpx.Client(base_url=m.base, cookies=m.http.cookies, timeout=timeout) as http:
            while time.monotonic() < m.until:
                params = {} if self.last is None else {"last": self.last}
                started = time.perf_counter()
                url, accept = f"/t/{TEAM}/live/stream/", {"Accept": "text/event-stream"}
                try:
                    with http.stream("GET", url, params=params, headers=accept) as answer:
                        ms = (time.perf_counter() - started) * 1000
                        bad = answer.status_code != 200
                        problem = f"unexpected {answer.status_code} on the stream" if bad else ""
                        m.tally.add(Record("stream", answer.status_code, ms, problem))
                        if bad:
                            time.sleep(2)
                            continue
                        self.read(answer)
                except httpx.HTTPError as exc:
                    if time.monotonic() < m.until:
                        ms = (time.perf_counter() - started) * 1000
                        m.tally.add(Record("stream", 0, ms, f"{type(exc).__name__}: {exc}"))
                        time.sleep(2)

    def read(self, answer: httpx.Response) -> None:
        event = ""
        for line in answer.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
                self.hellos += event == "hello"
            elif line.startswith("id: "):
                self.last = line[4:]
            elif line.startswith("data: "):
                if event == "hello":
                    self.last = line[6:]
                for job in map(int, STREAM_JOB.findall(line)):
                    self.seen[job] = max(self.seen.get(job, 0), int(self.last or 0))
            elif not line:
                if event == "bye":
                    return  # the server ends it: open another, as the page does
                event = ""
            if time.monotonic() >= self.member.until:
                return


class Member(threading.Thread):
    """One person: signs in, then does what people do, with think time."""

    def __init__(self, name: str, token: str, base: str, until: float, tally: Tally, seed: int):
        super().__init__(name=name, daemon=True)
        self.username, self.token, self.base = name, token, base
        self.until, self.tally = until, tally
        self.rng = random.Random(seed)
        self.http = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
        self.csrf = ""
        self.job_ids: list[int] = []
        self.image_ids: list[int] = []
        self.thumbs: list[str] = []
        self.api_tasks: list[str] = []
        self.after = 0
        self.stream = Stream(self)
        self.mine: list[int] = []  # jobs this member made, not yet made private

    # --- measuring -------------------------------------------------------------------------

    def call(
        self, action: str, method: str, url: str, expect=(200,), **kw
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = self.http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            ms = (time.perf_counter() - started) * 1000
            self.tally.add(Record(action, 0, ms, f"{type(exc).__name__}: {exc}"))
            return None
        ms = (time.perf_counter() - started) * 1000
        problem = "" if response.status_code in expect else f"unexpected {response.status_code}"
        if problem:
            said = ALERT.search(response.text)
            problem += f" on {method} {url}: {said.group(1) if said else response.text[:200]!r}"
        self.tally.add(Record(action, response.status_code, ms, problem))
        return response if not problem else None

    def remember(self, html: str) -> None:
        self.job_ids = sorted({*self.job_ids, *map(int, JOB_ID.findall(html))})[-200:]
        self.image_ids = sorted({*self.image_ids, *map(int, IMAGE_ID.findall(html))})[-200:]
        self.thumbs = list(dict.fromkeys(self.thumbs + THUMB.findall(html)))[-100:]
        if self.job_ids:
            self.after = max(self.after, max(self.job_ids))
        found = CSRF.search(html)
        if found:
            self.csrf = found.group(1)

    # --- what a person does ----------------------------------------------------------------

    def sign_in(self) -> bool:
        # The site checks only so many passwords at once and asks the rest to
        # try again in a few seconds: a clear answer, which a person obeys.
        for _ in range(10):
            page = self.call("sign-in page", "GET", "/accounts/login/")
            if page is None:
                return False
            self.remember(page.text)
            data = {"username": self.username, "password": PASSWORD}
            data["csrfmiddlewaretoken"] = self.csrf
            answer = self.call("sign in", "POST", "/accounts/login/", expect=(302, 200), data=data)
            if answer is None:
                return False
            if answer.status_code == 302:
                return True
            if BUSY not in answer.text:
                problem = "the sign-in form came back without saying the site is busy"
                self.tally.add(Record("sign in refused", 200, 0, problem))
                return False
            time.sleep(self.rng.uniform(2, 4))
        self.tally.add(Record("sign in refused", 200, 0, "still busy after 10 tries"))
        return False

    def gallery(self) -> None:
        page = self.call("gallery", "GET", f"/t/{TEAM}/")
        if page is not None:
            self.remember(page.text)

    def generate(self) -> None:
        page = self.call("gallery", "GET", f"/t/{TEAM}/")
        if page is None:
            return
        self.remember(page.text)
        prompt = self.rng.choice(PROMPTS)
        if self.rng.random() < 0.15:  # text goes before the parameters
            words, _, params = prompt.partition(" --")
            prompt = f"{words} {self.rng.choice(MARKED)}" + (f" --{params}" if params else "")
        speed = self.rng.choice(["fast", "fast", "draft", "turbo"])
        found = CLIENT_ID.search(page.text)
        data = {"prompt": prompt, "speed": speed, "csrfmiddlewaretoken": self.csrf}
        data["client_request_id"] = found.group(1) if found else ""
        # A clear refusal (the in-flight cap, the per-minute limit) is an answer, not an error.
        made = self.call(
            "generate", "POST", f"/t/{TEAM}/jobs/", expect=(200, 402, 409, 429), data=data,
            headers={**HX, "X-CSRFToken": self.csrf},
        )  # fmt: skip
        if made is not None:
            self.remember(made.text)
            self.mine += map(int, JOB_ID.findall(made.text))

    def make_private(self) -> None:
        # From now on no other member's stream may carry this job.
        if self.mine:
            job = self.mine.pop(self.rng.randrange(len(self.mine)))
            data = {"csrfmiddlewaretoken": self.csrf}
            self.call("make private", "POST", f"/t/{TEAM}/jobs/{job}/private/", data=data,
                      expect=(302, 404))  # fmt: skip

    def check_prompt(self) -> None:
        prompt = self.rng.choice(PROMPTS + BAD_PROMPTS)
        data = {"prompt": prompt, "speed": "fast", "csrfmiddlewaretoken": self.csrf}
        headers = {**HX, "X-CSRFToken": self.csrf}
        self.call("check prompt", "POST", f"/t/{TEAM}/check/", data=data, headers=headers)

    def job_page(self) -> None:
        if self.job_ids:
            job = self.rng.choice(self.job_ids)
            # A job may have been made private or deleted by its author meanwhile.
            self.call("job page", "GET", f"/t/{TEAM}/jobs/{job}/", expect=(200, 404))

    def image_page(self) -> None:
        if self.image_ids:
            image = self.rng.choice(self.image_ids)
            self.call("image page", "GET", f"/t/{TEAM}/images/{image}/", expect=(200, 404))

    def thumbnail(self) -> None:
        if self.thumbs:
            self.call("thumbnail", "GET", self.rng.choice(self.thumbs), expect=(200, 404))

    def star(self) -> None:
        if self.job_ids:
            job = self.rng.choice(self.job_ids)
            headers = {**HX, "X-CSRFToken": self.csrf}
            self.call("star", "POST", f"/t/{TEAM}/jobs/{job}/star/", headers=headers,
                      data={"csrfmiddlewaretoken": self.csrf}, expect=(200, 404))  # fmt: skip

    def credits(self) -> None:
        self.call("my credits", "GET", f"/t/{TEAM}/credits/")

    def api(self) -> None:
        auth = {"Authorization": f"Bearer {self.token}"}
        if self.api_tasks and self.rng.random() < 0.6:
            task = self.rng.choice(self.api_tasks)
            self.call("api task", "GET", f"/api/v1/tasks/{task}", headers=auth)
        elif self.rng.random() < 0.5:
            self.call("api balance", "GET", "/api/v1/balance", headers=auth)
        else:
            body = {"model": "mj-v7", "prompt": self.rng.choice(PROMPTS), "speed": "draft"}
            made = self.call("api generate", "POST", "/api/v1/images/generations",
                             json=body, headers=auth, expect=(200, 402, 409, 429))  # fmt: skip
            if made is not None and made.status_code == 200:
                self.api_tasks.append(made.json()["id"])

    def cancel(self) -> None:
        # Cancel one of the newest jobs: often still queued, sometimes already done.
        mine = self.job_ids[-3:]
        if mine:
            job = self.rng.choice(mine)
            data = {"csrfmiddlewaretoken": self.csrf}
            self.call("cancel", "POST", f"/t/{TEAM}/jobs/{job}/cancel/", data=data,
                      expect=(302, 403, 404))  # fmt: skip

    ACTIONS = [
        (gallery, 10),
        (generate, 10),
        (check_prompt, 8),
        (job_page, 8),
        (image_page, 8),
        (thumbnail, 10),
        (star, 3),
        (credits, 4),
        (api, 8),
        (cancel, 1),
        (make_private, 2),
    ]

    def run(self) -> None:
        if not self.sign_in():
            return
        self.gallery()
        self.stream.start()
        actions, weights = zip(*self.ACTIONS, strict=True)
        while time.monotonic() < self.until:
            self.rng.choices(actions, weights)[0](self)
            time.sleep(self.rng.uniform(0.5, 2.0))
        self.stream.join(timeout=45)
        self.http.close()


HX = {"HX-Request": "true"}


class Outsider(Member):
    """A member of another team who keeps guessing this team's URLs: 404 every time."""

    def run(self) -> None:
        if not self.sign_in():
            return
        while time.monotonic() < self.until:
            job = self.rng.randint(1, 400)
            urls = (f"/t/{TEAM}/", f"/t/{TEAM}/jobs/{job}/", f"/t/{TEAM}/images/{job}/")
            for url in (*urls, f"/t/{TEAM}/live/stream/"):
                self.call("outsider probe", "GET", url, expect=(404,))
            self.call("outsider api", "GET", f"/api/v1/tasks/task-{job}",
                      headers={"Authorization": f"Bearer {self.token}"}, expect=(404,))  # fmt: skip
            time.sleep(self.rng.uniform(0.5, 2.0))
        self.http.close()


# Runs inside `manage.py shell`: the people, their credits and their tokens.
PEOPLE = """
import io, json
from django.core.management import call_command
from gallery.models import CreditAccount
tokens = {}
for team, name, admin in PEOPLE_LIST:
    out = io.StringIO()
    call_command("add_member", team, name, password=PASSWORD, credits=CREDITS, token=True,
                 admin=admin, stdout=out)
    tokens[name] = [w for w in out.getvalue().split() if w.startswith("mjw_")][0]
print(json.dumps(tokens))
"""

# Runs inside `manage.py shell`: the end state.
AUDIT = """
import json
from django.core.files.storage import default_storage
from django.db.models import Count
from gallery.models import Image, Job
from gallery.management.commands.check_ledger import ledger_problems
from django.db.models import Max
from gallery.studio.models.live import LiveEvent
private = list(Job.objects.filter(private=True).values_list("pk", "user__username"))
hidden = dict(LiveEvent.objects.filter(kind="hidden", job_id__in=[pk for pk, _ in private])
    .values_list("job_id").annotate(seq=Max("seq")).order_by())
stored = Image.objects.filter(status="stored")
missing = [i.pk for i in stored.iterator() if not (
    default_storage.exists(i.original.name) and default_storage.exists(i.thumbnail.name))]
print(json.dumps({
    "jobs": dict(Job.objects.values_list("status").annotate(n=Count("pk")).order_by()),
    "not_final": list(Job.objects.exclude(status__in=Job.FINAL).values_list("pk", flat=True)),
    "images": dict(Image.objects.values_list("status").annotate(n=Count("pk")).order_by()),
    "missing_files": missing,
    "ledger_problems": ledger_problems(),
    "refunded_failures": Job.objects.filter(status="failed", entries__kind="refund").count(),
    "failed": Job.objects.filter(status="failed").count(),
    "private": {pk: [owner, hidden.get(pk)] for pk, owner in private},
}))
"""

AUDIT_NOT_FINAL = """
from gallery.models import Job
print(Job.objects.exclude(status__in=Job.FINAL).count())
"""


def run(members: int, seconds: float, drain: float, seed: int) -> dict:
    sim_port, web_port = free_port(), free_port()
    sim, web = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{web_port}"
    env, scratch = scratch_env(
        "soak",
        EVOLINK_BASE_URL=f"{sim}/evolink",
        REAPI_BASE_URL=f"{sim}/reapi",
        EVOLINK_API_KEY="sim-key",
        REAPI_API_KEY="sim-key",
        MJWEB_PUBLIC_URL=web,  # evolink calls back; reAPI is polled
        MJWEB_QUEUE_RECHECK="5",
        MJWEB_SUBMIT_TIMEOUT="15",
        MJWEB_INGEST_RECHECK="5",
        MJWEB_WORKERS="2",
    )
    prepare(env)
    people = [(TEAM, f"m{n:02d}", n == 1) for n in range(1, members + 1)]
    people.append(("elsewhere", "outsider", True))
    script = (
        PEOPLE.replace("PEOPLE_LIST", repr(people))
        .replace("PASSWORD", repr(PASSWORD))
        .replace("CREDITS", "100000")
    )
    tokens = json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])
    faults = [arg for spec in FAULTS for arg in ("--fault", spec)]
    commands = [
        simulator_command(
            sim_port,
            scratch / "sim",
            *("--long-side", "256", "--duration-fast", "5", "--duration-turbo", "3"),
            *("--duration-draft", "2", "--fault-seed", str(seed), *faults),
            *("--request-log-size", "1000000"),
        ),
        web_command(web_port),
        [PY, "manage.py", "qcluster"],
        [PY, "manage.py", "poller"],
    ]
    tally = Tally()
    with processes(env, *commands, log_dir=scratch / "logs"):
        wait_for(f"{sim}/_sim/health")
        wait_for(f"{web}/healthz")
        print(f"  site up at {web}; {members} members for {seconds:g} s", file=sys.stderr)
        started = time.monotonic()
        until = started + seconds
        crowd = [
            Member(name, tokens[name], web, until, tally, seed * 1000 + n)
            for n, (_, name, _) in enumerate(people[:-1])
        ]
        crowd.append(Outsider("outsider", tokens["outsider"], web, until, tally, seed))
        for person in crowd:
            person.start()
        for person in crowd:
            person.join(timeout=seconds + 120)
        browsing = time.monotonic() - started
        drained_at = time.monotonic() + drain
        left = -1
        while time.monotonic() < drained_at:
            left = int(manage(env, "shell", "-c", AUDIT_NOT_FINAL).strip().splitlines()[-1])
            if left == 0:
                break
            time.sleep(2)
        drain_s = drain - max(0.0, drained_at - time.monotonic())
        injected = httpx.get(f"{sim}/_sim/requests", timeout=30).json()["requests"]
    audit = json.loads(manage(env, "shell", "-c", AUDIT).strip().splitlines()[-1])
    ledger_ok = not audit["ledger_problems"]
    figures = summarise(tally, audit, browsing, drain_s, ledger_ok, injected, scratch)
    figures.update(stream_figures([person.stream for person in crowd[:-1]], audit["private"]))
    return figures


def stream_figures(streams: list[Stream], private: dict[str, list]) -> dict:
    """What the members' streams carried: none may carry another member's job
    in an event after the one that made it private (that one removes its
    card), and every member's stream must have said hello."""
    leaks = sorted(
        f"{stream.member.username} got {owner}'s private job {pk} in event {stream.seen[int(pk)]}"
        f" (private at {hidden})"
        for stream in streams
        for pk, (owner, hidden) in private.items()
        if owner != stream.member.username
        and int(pk) in stream.seen
        and (hidden is None or stream.seen[int(pk)] > hidden)
    )
    silent = [stream.member.username for stream in streams if not stream.hellos]
    figures = {
        "streams": len(streams),
        "stream_hellos": sum(stream.hellos for stream in streams),
        "streams_without_hello": silent,
        "private_jobs": len(private),
        "private_leaks": leaks[:20],
    }
    print(
        f"{len(streams)} streams held, {figures['stream_hellos']} hellos "
        f"({len(silent)} members without one); {len(private)} private jobs, "
        f"{len(leaks)} seen in another member's stream"
    )
    for leak in leaks[:20]:
        print(f"  leak: {leak}")
    return figures


def summarise(tally, audit, browsing, drain_s, ledger_ok, log, scratch) -> dict:
    by_action = defaultdict(list)
    for r in tally.records:
        by_action[r.action].append(r)
    errors = [r for r in tally.records if r.error]
    rows = []
    for action, records in sorted(by_action.items()):
        ms = [r.ms for r in records]
        bad = sum(1 for r in records if r.error)
        rows.append((action, len(records), statistics.median(ms), percentile(ms, 0.95), bad))
    all_ms = [r.ms for r in tally.records]
    injected = sum(1 for entry in log if entry.get("fault"))
    figures = {
        "requests": len(tally.records),
        "requests_per_s": round(len(tally.records) / browsing, 1),
        "page_ms_p50": round(statistics.median(all_ms), 1) if all_ms else None,
        "page_ms_p95": round(percentile(all_ms, 0.95), 1),
        "errors": len(errors),
        "error_rate": round(len(errors) / max(1, len(tally.records)), 5),
        "jobs": audit["jobs"],
        "jobs_completed": audit["jobs"].get("completed", 0),
        "jobs_not_final": len(audit["not_final"]),
        "failed_and_refunded": audit["refunded_failures"],
        "failed": audit["failed"],
        "images": audit["images"],
        "images_missing_files": len(audit["missing_files"]),
        "ledger_ok": ledger_ok,
        "ledger_problems": audit["ledger_problems"][:20],
        "upstream_faults_seen": injected,
        "browsing_s": round(browsing, 1),
        "drain_s": round(drain_s, 1),
        "by_action": {
            a: {"n": n, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "errors": bad}
            for a, n, p50, p95, bad in rows
        },
        "first_errors": [f"{r.action}: {r.error}" for r in errors[:20]],
        "scratch": str(scratch),
    }
    print(f"\n{'action':18} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    for action, n, p50, p95, bad in rows:
        print(f"{action:18} {n:>6} {p50:>8.1f} {p95:>8.1f} {bad:>7}")
    print(
        f"\n{figures['requests']} requests ({figures['requests_per_s']}/s), "
        f"p50 {figures['page_ms_p50']} ms, p95 {figures['page_ms_p95']} ms, "
        f"{figures['errors']} errors; jobs {audit['jobs']}; images {audit['images']}; "
        f"{injected} upstream faults answered; drain {figures['drain_s']} s; "
        f"ledger {'clean' if ledger_ok else 'BROKEN'}; "
        f"{figures['jobs_not_final']} jobs not final; "
        f"{figures['images_missing_files']} stored images missing files"
    )
    for line in figures["first_errors"]:
        print(f"  error: {line}")
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--drain", type=float, default=120, help="seconds allowed to finish")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    figures = run(args.members, args.seconds, args.drain, args.seed)
    if healthy(figures):  # otherwise keep the logs and files for a look
        shutil.rmtree(figures["scratch"], ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return figures


def healthy(figures: dict) -> bool:
    return (
        figures["errors"] == 0
        and figures["ledger_ok"]
        and figures["jobs_not_final"] == 0
        and figures["images_missing_files"] == 0
        and not figures["private_leaks"]
        and not figures["streams_without_hello"]
    )


if __name__ == "__main__":
    sys.exit(0 if healthy(main()) else 1)
