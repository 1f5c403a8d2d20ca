"""Submission figure: API creations accepted per second, 20 concurrent clients.

The web server runs as deployed (bin/serve: gunicorn with uvicorn workers, 2
processes × WEB_THREADS, 8 unless set; DEBUG off) on a free loopback port,
over a scratch database. 20 members of one team each get a personal token,
plenty of credits and a high in-flight cap; 20 client threads, one per member,
each POST valid generations (`mj-v7`, a distinct prompt each time) to
/api/v1/images/generations on a keep-alive connection for `--seconds`. A
creation is validate + price + ledger reserve + job + enqueue of the submit
task (the queue row only: no cluster runs, so nothing is sent upstream).

The figure is the median over `--runs` runs of 200 answers per second. The
API's per-token rate limit (120 a minute by default, i.e. 40/s for 20 tokens)
is raised for the bench through MJWEB_API_RATE_LIMIT: it is a policy, not
the throughput being measured; every request still counts against it.
Afterwards every accepted task must have its job, its reserve ledger entry
and its queued submit task, and the balances must add up, so a fast but
wrong path cannot pass; every other answer is counted by status.

    .venv/bin/python bench/submit.py [--clients 20] [--seconds 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import collections
import json
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
from stack import ROOT, free_port, manage, prepare, processes, scratch_env, wait_for, web_command

CREDITS = 10_000_000

# Runs inside `manage.py shell`: N members of team "bench", each with a token.
MEMBERS = """
import json
from django.contrib.auth.models import User
from gallery.credits import ledger
from gallery.models import ApiToken, Membership, Team
team = Team.objects.create(slug="bench", name="bench")
tokens = []
for n in range(CLIENTS):
    user = User.objects.create(username=f"client{n}")
    m = Membership.objects.create(team=team, user=user)
    account = ledger.account_for(m)
    account.max_in_flight = 30_000  # a smallint on PostgreSQL
    account.save(update_fields=["max_in_flight"])
    ledger.grant(account=account, amount=CREDITS, by=None, reason="bench")
    tokens.append(ApiToken.issue(m, "bench")[1])
print(json.dumps(tokens))
"""

# Runs inside `manage.py shell`: is every accepted task really there, paid and queued?
CHECK = """
import json
from pathlib import Path
from django.db.models import Sum
from django_q.models import OrmQ
from gallery.models import ApiTask, CreditAccount, Job, LedgerEntry
ids = set(json.loads(Path("IDS").read_text()))
jobs = Job.objects.filter(pk__in=ids)
reserves = LedgerEntry.objects.filter(job__in=jobs, kind=LedgerEntry.Kind.RESERVE)
reserved = jobs.aggregate(n=Sum("credits_reserved"))["n"] or 0
submits = [q.task for q in OrmQ.objects.all()]
queued = len(ids & {t["args"][0] for t in submits if t.get("func") == "gallery.tasks.submit_job"})
balances = CreditAccount.objects.filter(membership__team__slug="bench")
entries = LedgerEntry.objects.filter(account__in=balances).aggregate(n=Sum("amount"))["n"]
print(json.dumps({
    "accepted": len(ids),
    "jobs": jobs.count(),
    "jobs_total": Job.objects.count(),
    "queued_jobs": jobs.filter(status=Job.Status.QUEUED).count(),
    "api_tasks": ApiTask.objects.filter(job__in=jobs).count(),
    "reserve_entries": reserves.count(),
    "reserve_sum": -(reserves.aggregate(n=Sum("amount"))["n"] or 0),
    "credits_reserved": reserved,
    "submit_tasks_queued": queued,
    "balance_sum": balances.aggregate(n=Sum("balance"))["n"],
    "entry_sum": entries,
    "negative": balances.filter(balance__lt=0).count(),
}))
"""


def client(url: str, token: str, n: int, until: float, out: dict, lock: threading.Lock) -> None:
    ok, ids, statuses, errors, latencies = 0, [], collections.Counter(), collections.Counter(), []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=60, headers=headers) as http:
        sent = 0
        while time.monotonic() < until:
            body = {
                "model": "mj-v7",
                "prompt": f"a lighthouse at dusk, client {n} request {sent} {secrets.token_hex(4)}",
                "model_params": {"speed": "fast"},
            }
            sent += 1
            start = time.monotonic()
            try:
                response = http.post(url, json=body)
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                continue
            if time.monotonic() > until + 30:
                break
            statuses[response.status_code] += 1
            if response.status_code == 200:
                ok += 1
                ids.append(response.json()["id"])
                latencies.append(time.monotonic() - start)
    with lock:
        out["ok"] += ok
        out["ids"].extend(ids)
        out["statuses"].update(statuses)
        out["errors"].update(errors)
        out["latencies"].extend(latencies)


def burst(url: str, tokens: list[str], seconds: float) -> dict:
    out = {
        "ok": 0,
        "ids": [],
        "statuses": collections.Counter(),
        "errors": collections.Counter(),
        "latencies": [],
    }
    lock = threading.Lock()
    start = time.monotonic()
    until = start + seconds
    threads = [
        threading.Thread(target=client, args=(url, token, n, until, out, lock))
        for n, token in enumerate(tokens)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out["elapsed"] = time.monotonic() - start  # includes the requests in flight at the end
    out["rate"] = out["ok"] / out["elapsed"]
    return out


def other(statuses: collections.Counter) -> dict:
    return {code: n for code, n in statuses.items() if code != 200}


def run(clients: int, seconds: float, runs: int) -> dict:
    port = free_port()
    env, scratch = scratch_env(
        "submit",
        # As deployed (bin/serve with a production environment), over plain
        # http on loopback.
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(60),
        SECURE_SSL_REDIRECT="False",
        MJWEB_PUBLIC_URL=f"http://127.0.0.1:{port}",
        MJWEB_API_RATE_LIMIT="1000000",
    )
    prepare(env)
    script = MEMBERS.replace("CLIENTS", str(clients)).replace("CREDITS", str(CREDITS))
    tokens = json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])
    command = web_command(port)
    base = f"http://127.0.0.1:{port}"
    results = []
    with processes(env, command, log_dir=scratch / "logs"):
        wait_for(f"{base}/healthz")
        url = f"{base}/api/v1/images/generations"
        burst(url, tokens[:2], 1.0)  # warm up both workers' imports and connections
        for n in range(runs):
            result = burst(url, tokens, seconds)
            results.append(result)
            print(
                f"  run {n + 1}: {result['ok']} accepted in {result['elapsed']:.1f} s "
                f"= {result['rate']:.1f}/s; other answers {other(result['statuses'])} "
                f"errors {dict(result['errors'])}",
                file=sys.stderr,
            )
    ids = [int(i.rpartition("-")[2]) for r in results for i in r["ids"]]
    ids_file = scratch / "ids.json"
    ids_file.write_text(json.dumps(ids))
    check = json.loads(
        manage(env, "shell", "-c", CHECK.replace("IDS", str(ids_file))).strip().splitlines()[-1]
    )
    return {"runs": results, "check": check, "tokens": tokens}


def verify(check: dict, accepted: int) -> list[str]:
    """What is wrong with the accepted submissions, if anything."""
    problems = []
    if check["accepted"] != accepted:
        problems.append(f"{accepted} answers 200 but {check['accepted']} distinct task ids")
    for name in ("jobs", "queued_jobs", "api_tasks", "reserve_entries", "submit_tasks_queued"):
        if check[name] != accepted:
            problems.append(f"{check[name]} {name} for {accepted} accepted submissions")
    if check["reserve_sum"] != check["credits_reserved"]:
        problems.append(f"reserved {check['reserve_sum']} ≠ jobs' {check['credits_reserved']}")
    if check["balance_sum"] != check["entry_sum"] or check["negative"]:
        problems.append(f"balances {check['balance_sum']} ≠ entries {check['entry_sum']}")
    return problems


def main(argv: list[str] | None = None) -> dict:
    """The figures; `argv` are this script's options (none when bench/run.py calls it)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv or [])
    result = run(args.clients, args.seconds, args.runs)
    runs = result["runs"]
    accepted = sum(r["ok"] for r in runs)
    rejected = sum(n for r in runs for code, n in r["statuses"].items() if code != 200)
    errors = sum(sum(r["errors"].values()) for r in runs)
    latencies = sorted(x for r in runs for x in r["latencies"])
    rates = [r["rate"] for r in runs]
    print(
        f"API submissions, {args.clients} clients × {args.seconds:g} s × {args.runs} runs: "
        f"{', '.join(f'{x:.1f}' for x in rates)}/s, median {statistics.median(rates):.1f}/s; "
        f"latency p50 {latencies[len(latencies) // 2] * 1000:.0f} ms "
        f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms"
    )
    print(f"  non-2xx answers: {rejected}, connection errors: {errors}")
    problems = verify(result["check"], accepted)
    if problems:
        raise RuntimeError("accepted submissions are not all sound: " + "; ".join(problems))
    print(
        f"  checked: {accepted} jobs, reserve entries, API tasks and queued submit tasks; "
        f"ledger sums agree"
    )
    return {
        "submit_per_s": round(statistics.median(rates), 1),
        "submit_rejected": rejected + errors,
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(ROOT))
    print(json.dumps(main(sys.argv[1:])))
