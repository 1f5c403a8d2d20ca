"""A database the flat-layout code made (commit be45637, before the domain
packages) migrates to the new layout with every row and file intact (issue 17).

The fixture is that code's own output: fixtures/make_flat_layout.py ran once
against be45637 and dumped its SQLite database as SQL, beside the image files
its store wrote. The files are kept as written rather than made again here
from the rows' names: their names are digests of their bytes, and the point
is that the old bytes still open, not that today's Pillow can encode a look-alike.

The test loads the dump into a fresh file, runs `manage.py migrate` (and
createcachetable) on it in a subprocess as bin/serve deploys, then reads it
back through the new code."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Django's own bookkeeping grows on migrate (the new migration, its models'
# content types and permissions); their old rows must stay, as all others do.
GROWS = {"django_migrations", "django_content_type", "auth_permission"}
NEW_TABLES = ("gallery_liveseq", "gallery_liveevent")  # migration 0012

# Run by the new code against the migrated database; prints what it read as JSON.
READ_BACK = r"""
import hashlib, json
from django.contrib.auth import authenticate
from django.core.files.storage import default_storage
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from PIL import Image as PILImage
from gallery.credits import ledger
from gallery.credits.models.credits import CreditAccount
from gallery.studio.models.jobs import Image, Job

setup_test_environment()  # the test client's host name
secrets = json.loads(open(SECRETS).read())
out = {"jobs": {}, "balances": {}, "images": {}}
for job in Job.objects.select_related("user"):
    out["jobs"][str(job.pk)] = [job.status, job.title, job.user.username, job.private,
                                job.deleted_at is not None]
for account in CreditAccount.objects.select_related("membership__user", "membership__team"):
    m = account.membership
    out["balances"][str(account.pk)] = [account.balance, ledger.balance_of(m),
                                        m.user.username, m.team.slug]
owners = {}
for image in Image.objects.select_related("job__user"):
    with default_storage.open(image.original.name) as handle:
        original = handle.read()
    with default_storage.open(image.thumbnail.name) as handle, PILImage.open(handle) as thumb:
        thumb.load()
    served = {}
    job = image.job
    if job.deleted_at is None:  # the trash is not served; its files stay for a restore
        client = owners.setdefault(job.user_id, Client())
        client.force_login(job.user)
        for name in (image.original.name, image.thumbnail.name):
            response = client.get(reverse("media", args=[name]))
            body = b"".join(response.streaming_content) if response.streaming else response.content
            with default_storage.open(name) as handle:
                served[name] = [response.status_code, body == handle.read()]
    out["images"][str(image.pk)] = {
        "sha256_matches": hashlib.sha256(original).hexdigest() == image.sha256,
        "bytes_match": len(original) == image.bytes,
        "served": served,
    }
token = secrets["api_token"]
response = Client().get("/api/v1/balance", HTTP_AUTHORIZATION=f"Bearer {token}")
out["api_balance"] = [response.status_code, response.json().get("credits")]
out["signs_in"] = sorted(
    name for name in ("alice", "bob", "carol", "vera")
    if authenticate(username=name, password=secrets["password"]) is not None
)
out["queued_tasks"] = [bool(import_string(q.task["func"])) for q in OrmQ.objects.all()]
print(json.dumps(out))
"""


def _tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
    return [name for (name,) in rows if not name.startswith("sqlite_")]


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]


def _rows(db: sqlite3.Connection, table: str, columns: list[str]) -> list[tuple]:
    names = ", ".join(f'"{c}"' for c in columns)
    # Names from the fixture's own sqlite_master, not from input.
    return sorted(db.execute(f'SELECT {names} FROM "{table}"'), key=repr)  # noqa: S608


def _snapshot(path: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    with closing(sqlite3.connect(path)) as db:
        return {t: (_columns(db, t), _rows(db, t, _columns(db, t))) for t in _tables(db)}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """The flat-layout database before (its raw rows) and after the new code's migrate."""
    tmp = tmp_path_factory.mktemp("flat-layout")
    database = tmp / "db.sqlite3"
    with closing(sqlite3.connect(database)) as db:
        db.executescript((FIXTURES / "flat_layout.sql").read_text())
    shutil.copytree(FIXTURES / "flat_layout_media", tmp / "media")
    before = _snapshot(database)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "DEBUG", "SECRET_KEY")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="mjweb.settings",
        DATABASE_URL=f"sqlite:///{database}",
        MJWEB_VAR_DIR=str(tmp / "var"),
        MEDIA_ROOT=str(tmp / "media"),
    )
    for step in (("migrate", "--no-input"), ("createcachetable",)):  # as bin/serve deploys
        done = _manage(*step, env=env)
        assert done.returncode == 0, done.stderr
    return before, _snapshot(database), env


def test_every_row_of_the_flat_layout_is_still_there_unchanged(migrated):
    before, after, _ = migrated
    assert before["gallery_job"][1] and before["gallery_ledgerentry"][1]  # the fixture has rows
    for table, (columns, rows) in before.items():
        assert table in after, f"{table} is gone"
        kept = _project(after[table], columns)
        if table in GROWS:
            assert set(rows) <= set(kept), table
        else:
            assert kept == rows, f"{table} changed"


def _project(table: tuple[list[str], list[tuple]], columns: list[str]) -> list[tuple]:
    names, rows = table
    assert set(columns) <= set(names), "a column was dropped"
    where = [names.index(c) for c in columns]
    return sorted((tuple(row[i] for i in where) for row in rows), key=repr)


def test_the_new_tables_exist_and_are_empty(migrated):
    before, after, _ = migrated
    for table in NEW_TABLES:
        assert table not in before
        assert after[table][1] == []
    applied = {row[1:3] for row in after["django_migrations"][1]}
    assert ("gallery", "0012_live_events") in applied


def test_the_ledger_check_passes_on_the_migrated_database(migrated):
    _, _, env = migrated
    done = _manage("check_ledger", env=env)
    assert done.returncode == 0, done.stderr
    assert "ledger ok: 3 accounts, 22 entries" in done.stdout


def test_the_new_code_reads_every_job_balance_file_and_token_as_before(migrated):
    before, _, env = migrated
    code = f"SECRETS = {str(FIXTURES / 'flat_layout.json')!r}\n{READ_BACK}"
    done = _manage("shell", "-c", code, env=env)
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout.strip().splitlines()[-1])

    users = _by_id(before, "auth_user", "username")
    jobs = _table(before, "gallery_job")
    assert read["jobs"] == {
        str(j["id"]): [
            j["status"],
            j["title"],
            users[j["user_id"]],
            bool(j["private"]),
            j["deleted_at"] is not None,
        ]
        for j in jobs
    }
    assert {row[0] for row in read["jobs"].values()} >= {
        "completed",
        "failed",
        "cancelled",
        "running",
        "queued",
    }

    memberships = {m["id"]: m for m in _table(before, "gallery_membership")}
    teams = _by_id(before, "gallery_team", "slug")
    assert read["balances"] == {
        str(a["id"]): [
            a["balance"],
            a["balance"],
            users[memberships[a["membership_id"]]["user_id"]],
            teams[memberships[a["membership_id"]]["team_id"]],
        ]
        for a in _table(before, "gallery_creditaccount")
    }

    images = _table(before, "gallery_image")
    assert set(read["images"]) == {str(i["id"]) for i in images} and images
    deleted = {j["id"] for j in jobs if j["deleted_at"] is not None}
    for image in images:
        seen = read["images"][str(image["id"])]
        assert seen["sha256_matches"] and seen["bytes_match"], image["original"]
        if image["job_id"] in deleted:
            continue
        assert seen["served"] == {
            image["original"]: [200, True],
            image["thumbnail"]: [200, True],
        }

    alice = next(a for a in read["balances"].values() if a[2:] == ["alice", "harbour"])
    assert read["api_balance"] == [200, alice[0]]
    assert read["signs_in"] == ["alice", "bob", "carol", "vera"]
    assert read["queued_tasks"] == [True]


def _table(snapshot, table: str) -> list[dict]:
    columns, rows = snapshot[table]
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _by_id(snapshot, table: str, field: str) -> dict:
    return {row["id"]: row[field] for row in _table(snapshot, table)}
