"""The hostile requests of the security review, replayed against `make serve`.

Starts `bin/serve` (the web server, the workers and the poller exactly as a
one-machine deployment runs them) on a scratch site, with the simulator as
the upstream, and two teams: alice (admin) and bob in one, carol in another.
While a watcher reads `/healthz` every 50 ms, each reproduction is sent and
must get its refusal: a 4xx, a throttled sign-in, a revoked link. The run
fails on any 5xx, on a `/healthz` answer slower than 100 ms, or on a
traceback in the server's log. Prints one line per reproduction and writes
the figures as JSON.

    .venv/bin/python bench/abuse.py [--json bench/abuse.json]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from stack import (
    ROOT,
    free_port,
    manage,
    percentile,
    processes,
    scratch_env,
    simulator_command,
    wait_for,
)

PASSWORD = "abuse-password-1"  # noqa: S105 — a throwaway site on loopback
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

PEOPLE = """
import io, json
from django.core.management import call_command
from django.contrib.auth.models import User
tokens = {}
for team, name, admin in [("studio", "alice", True), ("studio", "bob", False),
                          ("elsewhere", "carol", True), ("studio", "mallory", False),
                          ("elsewhere", "alice", False)]:
    out = io.StringIO()
    call_command("add_member", team, name, password=PASSWORD, credits=100000, token=True,
                 admin=admin, stdout=out)
    tokens.setdefault(name, [w for w in out.getvalue().split() if w.startswith("mjw_")][0])
User.objects.create_superuser("root", "root@example.org", PASSWORD)
print(json.dumps(tokens))
"""

EVENTS = """
from gallery.models import JobEvent
print(JobEvent.objects.filter(job_id=JOB, kind="callback").count())
"""

JOB_OF_TASK = """
from gallery.api import translate as api
print(api.job_pk(TASK))
"""


WATCHER = """
import os, sys, time, httpx
base, out, stop = sys.argv[1:4]
with httpx.Client(base_url=base, timeout=5) as client, open(out, "a", buffering=1) as log:
    while not os.path.exists(stop):
        started = time.time()
        try:
            status = str(client.get("/healthz").status_code)
        except httpx.HTTPError as e:
            status = type(e).__name__
        log.write(f"{started} {time.time() - started} {status}\\n")
        time.sleep(0.05)
"""


class Watch:
    """Reads /healthz every 50 ms from a process of its own, so that what the
    checks do in this process (forty client threads) cannot delay its reads."""

    def __init__(self, base: str, scratch: Path) -> None:
        self.out, self.stop = scratch / "healthz.log", scratch / "healthz.stop"
        self.proc = subprocess.Popen([sys.executable, "-c", WATCHER, base, self.out, self.stop])

    def reads(self) -> list[tuple[float, float, str]]:
        if not self.out.exists():
            return []
        rows = (line.split() for line in self.out.read_text().splitlines())
        return [(float(at), float(took), status) for at, took, status in rows]

    def finish(self) -> list[tuple[float, float, str]]:
        self.stop.touch()
        self.proc.wait(timeout=30)
        return self.reads()


class Person:
    def __init__(self, base: str, name: str, token: str) -> None:
        self.name, self.token = name, token
        self.http = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
        self.api = httpx.Client(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    def csrf(self, path: str = "/accounts/login/") -> str:
        return CSRF.search(self.http.get(path).text).group(1)

    def sign_in(self, username: str | None = None, password: str = PASSWORD) -> httpx.Response:
        data = {"username": username or self.name, "password": password}
        return self.post("/accounts/login/", data, page="/accounts/login/")

    def post(self, path: str, data: dict, *, page: str = "/accounts/login/", **kw):
        data = {**data, "csrfmiddlewaretoken": self.csrf(page)}
        return self.http.post(path, data=data, headers={"Referer": str(self.http.base_url)}, **kw)

    def hx_post(self, path: str, data: dict, page: str) -> httpx.Response:
        token = self.csrf(page)
        headers = {"HX-Request": "true", "X-CSRFToken": token}
        return self.http.post(path, data=data, headers=headers)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--only", nargs="*", help="run only the checks whose names contain these")
    args = parser.parse_args(argv)

    sim_port, web_port = free_port(), free_port()
    sim, web = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{web_port}"
    env, scratch = scratch_env(
        "abuse",
        EVOLINK_BASE_URL=f"{sim}/evolink",
        REAPI_BASE_URL=f"{sim}/reapi",
        VTRIX_BASE_URL=f"{sim}/vtrix",
        EVOLINK_API_KEY="sim-key",
        REAPI_API_KEY="sim-key",
        VTRIX_API_KEY="sim-key",
        MJWEB_PUBLIC_URL=web,
        MJWEB_PORT=str(web_port),
    )
    env.pop("DEBUG")  # as deployed: `make serve` decides
    env.update(DEBUG="True")  # a scratch site has no SECRET_KEY or TLS
    manage(env, "migrate", "-v0")
    tokens = json.loads(
        manage(env, "shell", "-c", PEOPLE.replace("PASSWORD", repr(PASSWORD)))
        .strip()
        .splitlines()[-1]
    )
    log = scratch / "serve.log"
    serve = ["bash", str(ROOT / "bin" / "serve")]
    simulator = simulator_command(sim_port, scratch / "sim", "--duration-fast", "2")
    results: list[tuple[str, bool, str]] = []
    with processes(env, simulator, serve, log_dir=scratch / "logs"):
        wait_for(f"{sim}/_sim/health")
        wait_for(f"{web}/healthz", timeout=60)
        watch = Watch(web, scratch)
        try:
            ctx = Context(web, sim, env, tokens)
            chosen = [c for c in CHECKS if not args.only or any(o in c.__name__ for o in args.only)]
            for check in chosen:
                started, clock = time.time(), time.perf_counter()
                try:
                    ok, detail = check(ctx)
                except Exception as e:  # a reproduction that breaks is a failure, not a crash
                    ok, detail = False, f"{type(e).__name__}: {e}"
                time.sleep(0.2)  # a read that started during the check has ended
                took = time.perf_counter() - clock
                during = [t for at, t, _ in watch.reads() if at >= started]
                slowest = max(during, default=0) * 1000
                results.append((check.__doc__.strip().splitlines()[0], ok, detail))
                print(
                    f"  {'ok  ' if ok else 'FAIL'} {took - 0.2:5.1f}s  healthz max "
                    f"{slowest:6.1f} ms  {results[-1][0]}: {detail}"
                )
        finally:
            reads = watch.finish()
    server_log = "".join(p.read_text(errors="replace") for p in (scratch / "logs").glob("*.log"))
    log.write_text(server_log)
    errors_5xx = re.findall(r'" 5\d\d ', server_log)
    tracebacks = server_log.count("Traceback (most recent call last)")
    figures = {
        "reproductions": len(results),
        "refused_as_expected": sum(ok for _, ok, _ in results),
        "healthz_reads": len(reads),
        "healthz_ms_p50": round(percentile([t for _, t, _ in reads], 0.5) * 1000, 1),
        "healthz_ms_max": round(max(t for _, t, _ in reads) * 1000, 1),
        "healthz_failures": sum(status != "200" for _, _, status in reads),
        "server_5xx": len(errors_5xx),
        "server_tracebacks": tracebacks,
        "server_log": str(log),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**figures, "results": results}, indent=2) + "\n")
    passed = (
        figures["refused_as_expected"] == figures["reproductions"]
        and figures["healthz_ms_max"] <= 100
        and not figures["healthz_failures"]
        and not errors_5xx
        and not tracebacks
    )
    print("PASSED" if passed else "FAILED")
    if not passed:
        sys.exit(1)
    return figures


class Context:
    def __init__(self, web: str, sim: str, env: dict, tokens: dict[str, str]) -> None:
        self.web, self.sim, self.env = web, sim, env
        self.people = {name: Person(web, name, token) for name, token in tokens.items()}
        for name in ("alice", "bob", "carol"):
            assert self.people[name].sign_in().status_code == 302, f"{name} cannot sign in"
        self.job, self.image = self._finished_job()
        self.job_pk = int(self.shell(JOB_OF_TASK.replace("TASK", repr(self.job["id"]))))

    def _finished_job(self) -> tuple[dict, int]:
        alice = self.people["alice"].api
        body = {"model": "mj-v7", "prompt": "a lighthouse at dusk --ar 3:2"}
        task = alice.post("/api/v1/images/generations", json=body).json()
        for _ in range(300):
            task = alice.get(f"/api/v1/tasks/{task['id']}").json()
            if task["status"] in ("completed", "failed"):
                break
            time.sleep(0.2)
        assert task["status"] == "completed", task
        for _ in range(150):  # the API may say completed before the thumbnails are stored
            page = self.people["alice"].http.get("/t/studio/").text
            found = re.search(r"/t/studio/images/(\d+)/", page)
            if found:
                return task, int(found.group(1))
            time.sleep(0.2)
        raise AssertionError("the finished job's images never reached the gallery")

    def shell(self, script: str) -> str:
        return manage(self.env, "shell", "-c", script).strip().splitlines()[-1]


def _is_4xx(response: httpx.Response) -> bool:
    return 400 <= response.status_code < 500


def huge_numbers_on_price_and_edit(ctx: Context) -> tuple[bool, str]:
    """1 huge numbers on price/ and edit/"""
    alice = ctx.people["alice"]
    base = f"/t/studio/images/{ctx.image}"
    attacks = [
        {"operation": "mj-v7-inpaint", "rect_x": "0", "rect_y": "0"}
        | {"rect_width": "1e999999999", "rect_height": "5"},
        {"operation": "mj-v7-outpaint", "scale": "custom", "custom_scale": "1e999999"},
        {"operation": "mj-v7-pan", "direction": "left", "scale": "1e99999999"},
        {"operation": "mj-v7-edit", "prompt": "x", "canvas_width": "9" * 5000},
    ]
    statuses = []
    with ThreadPoolExecutor(4) as pool:
        gets = list(pool.map(lambda q: alice.http.get(f"{base}/price/", params=q), attacks * 2))
    statuses += [r.status_code for r in gets]
    for attack in attacks:
        statuses.append(alice.hx_post(f"{base}/edit/", attack, page=f"{base}/").status_code)
    return all(400 <= s < 500 for s in statuses), f"statuses {sorted(set(statuses))}"


def signin_spelling(ctx: Context) -> tuple[bool, str]:
    """2 a fullwidth spelling after ten failures does not sign in"""
    stranger = Person(ctx.web, "mallory", "")
    for _ in range(10):
        stranger.sign_in("mallory", "wrong")
    answer = stranger.sign_in("\uff4dallory", PASSWORD)
    return answer.status_code != 302, f"status {answer.status_code}"


def admin_login_throttled(ctx: Context) -> tuple[bool, str]:
    """3 /admin/login/ locks after ten wrong passwords"""
    stranger = Person(ctx.web, "root", "")
    for _ in range(12):
        data = {"username": "root", "password": "wrong", "next": "/admin/"}
        stranger.post("/admin/login/", data, page="/admin/login/")
    data = {"username": "root", "password": PASSWORD, "next": "/admin/"}
    answer = stranger.post("/admin/login/", data, page="/admin/login/")
    return answer.status_code != 302, f"right password after 12 wrong: status {answer.status_code}"


def concurrent_signins(ctx: Context) -> tuple[bool, str]:
    """4 forty wrong passwords at once: at most ten checked"""
    people = [Person(ctx.web, "bob", "") for _ in range(40)]
    pages = [p.csrf() for p in people]

    def attempt(pair) -> str:
        person, token = pair
        data = {"username": "carol", "password": "wrong", "csrfmiddlewaretoken": token}
        return person.http.post("/accounts/login/", data=data).text

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(attempt, zip(people, pages, strict=True)))
    checked = sum("Too many" not in text for text in answers)
    return checked <= 10, f"{checked} of 40 checked against the password"


def cross_team_request_id(ctx: Context) -> tuple[bool, str]:
    """6 the same client_request_id in two teams"""
    rid = "same-request-id-for-two-teams"
    alice = ctx.people["alice"]
    statuses = []
    for team in ("studio", "elsewhere"):
        page = f"/t/{team}/"
        data = {"prompt": "a red fox", "speed": "fast", "client_request_id": rid}
        statuses.append(alice.hx_post(f"/t/{team}/jobs/", data, page=page).status_code)
    return statuses[0] == 200 and 400 <= statuses[1] < 500, f"statuses {statuses}"


def bad_query_strings(ctx: Context) -> tuple[bool, str]:
    """6 impossible dates, huge ids, year 10000"""
    alice = ctx.people["alice"].http
    answers = [
        alice.get("/t/studio/", params={"since": "2026-02-30"}),
        alice.get("/t/studio/live/", params={"ids": "99999999999999999999999"}),
        alice.get("/t/studio/credits/", params={"month": "9999-12"}),
        alice.get("/t/studio/spend/", params={"month": "9999-12"}),
        alice.get("/t/studio/spend.csv", params={"month": "9999-12"}),
    ]
    statuses = [a.status_code for a in answers]
    return all(400 <= s < 500 for s in statuses), f"statuses {statuses}"


def bad_masks(ctx: Context) -> tuple[bool, str]:
    """6 masks whose areas are not objects"""
    alice = ctx.people["alice"]
    base = f"/t/studio/images/{ctx.image}"
    edits, prices = [], []
    for mask in ("[1, 2]", '[["a", "b"]]', '{"areas": [1]}', "null", '"x"'):
        data = {"operation": "mj-v7-inpaint", "mask": mask}
        edits.append(alice.hx_post(f"{base}/edit/", data, page=f"{base}/").status_code)
        prices.append(alice.http.get(f"{base}/price/", params=data).status_code)
    ok = all(400 <= s < 500 for s in edits) and all(s < 500 for s in prices)
    return ok, f"edit {sorted(set(edits))}, price {sorted(set(prices))}"


def private_revokes_share_links(ctx: Context) -> tuple[bool, str]:
    """7 making a job private cuts its public share link"""
    alice = ctx.people["alice"]
    job_page = f"/t/studio/jobs/{ctx.job_pk}/"
    alice.post(f"/t/studio/images/{ctx.image}/share/", {}, page=job_page)
    slug = re.search(r"/s/([^/\"]+)/", alice.http.get(job_page).text).group(1)
    before = httpx.get(f"{ctx.web}/s/{slug}/").status_code
    said = alice.post(f"/t/studio/jobs/{ctx.job_pk}/private/", {}, page=job_page)
    after = httpx.get(f"{ctx.web}/s/{slug}/").status_code
    message = "revoked" in alice.http.get(job_page).text if said.status_code == 302 else False
    alice.post(f"/t/studio/jobs/{ctx.job_pk}/private/", {}, page=job_page)  # shared again
    return (
        before == 200 and after == 404,
        f"link {before} before, {after} after; page says revoked: {message}",
    )


def api_file_urls_are_signed_and_short_lived(ctx: Context) -> tuple[bool, str]:
    """7 API file URLs carry an expiry and refuse tampering"""
    alice = ctx.people["alice"].api
    task = alice.get(f"/api/v1/tasks/{ctx.job['id']}").json()
    url = task["results"][0]
    good = httpx.get(url).status_code
    name = url.rsplit("/", 1)[1]
    parts = name.split(".")
    parts[2] = "0"  # an older timestamp under the same signature
    forged = httpx.get(url.rsplit("/", 1)[0] + "/" + ".".join(parts)).status_code
    again = alice.get(f"/api/v1/tasks/{ctx.job['id']}").json()["results"][0]
    return (
        good == 200 and 400 <= forged < 500,
        f"fresh {good}, altered {forged}, renewed {again != url}",
    )


def callback_to_the_simulator_control_api(ctx: Context) -> tuple[bool, str]:
    """9 an API callback_url into the simulator's control API is refused"""
    body = {
        "model": "mj-v7",
        "prompt": "a red fox",
        "callback_url": f"{ctx.sim}/_sim/keys/x",
    }
    answer = ctx.people["bob"].api.post("/api/v1/images/generations", json=body)
    return _is_4xx(answer), f"status {answer.status_code}"


def replayed_provider_callback(ctx: Context) -> tuple[bool, str]:
    """10 a provider callback replayed after the job ended"""
    attempts = httpx.get(f"{ctx.sim}/_sim/callbacks", timeout=10).json()["attempts"]
    urls = [a["url"] for a in attempts if f"/callbacks/evolink/{ctx.job_pk}/" in a["url"]]
    if not urls:
        return False, "no callback was delivered for the job"
    before = int(ctx.shell(EVENTS.replace("JOB", str(ctx.job_pk))))
    statuses = {httpx.post(urls[0], json={}).status_code for _ in range(20)}
    after = int(ctx.shell(EVENTS.replace("JOB", str(ctx.job_pk))))
    ok = all(400 <= s < 500 for s in statuses) and after == before
    return ok, f"statuses {sorted(statuses)}, callback events {before} -> {after}"


def upload_flood(ctx: Context) -> tuple[bool, str]:
    """11 a flood of reference uploads meets a limit"""
    from io import BytesIO

    from PIL import Image as PILImage

    bob = ctx.people["bob"]
    token = bob.csrf("/t/studio/")
    statuses = []
    for n in range(40):
        data = BytesIO()
        PILImage.new("RGB", (64, 64), (n * 6, 10, 10)).save(data, "PNG")
        answer = bob.http.post(
            "/t/studio/uploads/",
            files={"image": (f"ref{n}.png", data.getvalue(), "image/png")},
            headers={"HX-Request": "true", "X-CSRFToken": token},
        )
        statuses.append(answer.status_code)
    refused = statuses.count(429)
    return refused > 0 and set(statuses) <= {
        200,
        429,
    }, f"{statuses.count(200)} stored, {refused} refused"


def loopback_in_disguise(ctx: Context) -> tuple[bool, str]:
    """11 NAT64 and 6to4 forms of loopback in a prompt are refused"""
    alice = ctx.people["alice"]
    answers = []
    for host in ("[64:ff9b::7f00:1]", "[2002:7f00:1::]"):
        data = {"prompt": f"http://{host}/a.png a red fox", "speed": "fast"}
        answers.append(alice.hx_post("/t/studio/jobs/", data, page="/t/studio/"))
    statuses = [a.status_code for a in answers]
    return all(400 <= s < 500 for s in statuses), f"statuses {statuses}"


CHECKS = [
    huge_numbers_on_price_and_edit,
    bad_query_strings,
    bad_masks,
    cross_team_request_id,
    signin_spelling,
    admin_login_throttled,
    concurrent_signins,
    private_revokes_share_links,
    api_file_urls_are_signed_and_short_lived,
    callback_to_the_simulator_control_api,
    replayed_provider_callback,
    upload_flood,
    loopback_in_disguise,
]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main()
