"""SQLite state in ``--data-dir``: tasks, result files, keys, balances and the credit ledger.

One connection guarded by a lock: the simulator's load is a test suite on
loopback, so serialising statements is simpler than per-thread connections and
never the bottleneck. WAL keeps a crash from corrupting the file, which is what
lets a killed simulator restart with its tasks intact.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    dialect TEXT NOT NULL,
    api_key TEXT NOT NULL,
    model TEXT NOT NULL,
    operation TEXT NOT NULL,
    request TEXT NOT NULL,
    raw TEXT,
    speed TEXT NOT NULL,
    is_draft INTEGER NOT NULL,
    parent_id TEXT,
    image_number INTEGER,
    render_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    duration REAL NOT NULL,
    hold INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    completed_at REAL,
    plan TEXT NOT NULL,
    images TEXT NOT NULL DEFAULT '[]',
    error_code TEXT,
    error_message TEXT,
    price TEXT NOT NULL,
    refunded INTEGER NOT NULL DEFAULT 0,
    poll_count INTEGER NOT NULL DEFAULT 0,
    last_polled_at REAL,
    callback_url TEXT,
    callback_state TEXT NOT NULL DEFAULT 'none',
    urls_expired INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks(status);
CREATE TABLE IF NOT EXISTS files (
    token TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    slot INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    api_key TEXT PRIMARY KEY,
    denied_models TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS balances (
    dialect TEXT NOT NULL,
    api_key TEXT NOT NULL,
    balance TEXT NOT NULL,
    PRIMARY KEY (dialect, api_key)
);
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dialect TEXT NOT NULL,
    api_key TEXT NOT NULL,
    task_id TEXT,
    kind TEXT NOT NULL,
    amount TEXT NOT NULL,
    balance_after TEXT NOT NULL,
    at REAL NOT NULL
);
"""


@dataclass
class Task:
    id: str
    dialect: str
    api_key: str
    model: str
    operation: str
    request: dict[str, Any]
    raw: Any
    speed: str
    is_draft: bool
    parent_id: str | None
    image_number: int | None
    render_key: str
    created_at: float
    duration: float
    hold: bool
    status: str  # running | completed | failed (the wire status is derived from time)
    completed_at: float | None
    plan: dict[str, Any]
    images: list[dict[str, Any]] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    price: Decimal = Decimal(0)
    refunded: bool = False
    poll_count: int = 0
    last_polled_at: float | None = None
    callback_url: str | None = None
    callback_state: str = "none"
    urls_expired: bool = False

    @property
    def due_at(self) -> float | None:
        return None if self.hold else self.created_at + self.duration

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Task:
        data = dict(row)
        for key in ("request", "plan", "images"):
            data[key] = json.loads(data[key])
        data["raw"] = json.loads(data["raw"]) if data["raw"] else None
        data["price"] = Decimal(data["price"])
        for key in ("is_draft", "hold", "refunded", "urls_expired"):
            data[key] = bool(data[key])
        return cls(**data)


class Store:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "files").mkdir(exist_ok=True)
        self.files_dir = data_dir / "files"
        self.path = data_dir / "simulator.sqlite3"
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def execute(self, sql: str, params: Iterable[Any] = ()) -> None:
        with self._lock:
            self._db.execute(sql, tuple(params))

    # -- tasks -----------------------------------------------------------

    def insert_task(self, db: sqlite3.Connection, task: Task) -> None:
        db.execute(
            """INSERT INTO tasks (id, dialect, api_key, model, operation, request, raw, speed,
                is_draft, parent_id, image_number, render_key, created_at, duration, hold,
                status, plan, images, price, callback_url, callback_state)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                task.id,
                task.dialect,
                task.api_key,
                task.model,
                task.operation,
                json.dumps(task.request),
                json.dumps(task.raw) if task.raw is not None else None,
                task.speed,
                int(task.is_draft),
                task.parent_id,
                task.image_number,
                task.render_key,
                task.created_at,
                task.duration,
                int(task.hold),
                task.status,
                json.dumps(task.plan),
                json.dumps(task.images),
                str(task.price),
                task.callback_url,
                task.callback_state,
            ),
        )
        for slot, image in enumerate(task.images):
            db.execute(
                "INSERT INTO files (token, task_id, slot) VALUES (?,?,?)",
                (image["token"], task.id, slot),
            )

    def get_task(self, task_id: str) -> Task | None:
        rows = self.query("SELECT * FROM tasks WHERE id = ?", (task_id,))
        return Task.from_row(rows[0]) if rows else None

    def list_tasks(self, limit: int = 200) -> list[Task]:
        rows = self.query("SELECT * FROM tasks ORDER BY created_at DESC LIMIT ?", (limit,))
        return [Task.from_row(r) for r in rows]

    def running_task_ids(self) -> list[tuple[str, float | None]]:
        rows = self.query(
            "SELECT id, CASE WHEN hold THEN NULL ELSE created_at + duration END AS due "
            "FROM tasks WHERE status = 'running'"
        )
        return [(r["id"], r["due"]) for r in rows]

    def update_task(self, task_id: str, **fields: Any) -> None:
        if not fields:
            return
        encoded = {
            k: json.dumps(v) if k in ("plan", "images") else (int(v) if isinstance(v, bool) else v)
            for k, v in fields.items()
        }
        assignments = ", ".join(f"{k} = ?" for k in encoded)
        self.execute(f"UPDATE tasks SET {assignments} WHERE id = ?", [*encoded.values(), task_id])  # noqa: S608

    def count_poll(self, task_id: str) -> None:
        self.execute(
            "UPDATE tasks SET poll_count = poll_count + 1, last_polled_at = ? WHERE id = ?",
            (time.time(), task_id),
        )

    def file_task(self, token: str) -> tuple[str, int] | None:
        rows = self.query("SELECT task_id, slot FROM files WHERE token = ?", (token,))
        return (rows[0]["task_id"], rows[0]["slot"]) if rows else None

    def delete_all_tasks(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM tasks")
            db.execute("DELETE FROM files")
            db.execute("DELETE FROM ledger")
            db.execute("DELETE FROM balances")
        for path in self.files_dir.glob("*.png"):
            path.unlink(missing_ok=True)

    # -- keys and money ----------------------------------------------------

    def ensure_keys(self, keys: Iterable[str]) -> None:
        with self.transaction() as db:
            for key in keys:
                db.execute("INSERT OR IGNORE INTO keys (api_key) VALUES (?)", (key,))

    def key_exists(self, key: str) -> bool:
        return bool(self.query("SELECT 1 FROM keys WHERE api_key = ?", (key,)))

    def all_keys(self) -> list[str]:
        return [r["api_key"] for r in self.query("SELECT api_key FROM keys ORDER BY api_key")]

    def denied_models(self, key: str) -> list[str]:
        rows = self.query("SELECT denied_models FROM keys WHERE api_key = ?", (key,))
        return json.loads(rows[0]["denied_models"]) if rows else []

    def set_denied_models(self, key: str, models: list[str]) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO keys (api_key) VALUES (?)", (key,))
            db.execute(
                "UPDATE keys SET denied_models = ? WHERE api_key = ?", (json.dumps(models), key)
            )

    def balance(self, db: sqlite3.Connection, dialect: str, key: str, initial: Decimal) -> Decimal:
        row = db.execute(
            "SELECT balance FROM balances WHERE dialect = ? AND api_key = ?", (dialect, key)
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO balances (dialect, api_key, balance) VALUES (?,?,?)",
                (dialect, key, str(initial)),
            )
            return initial
        return Decimal(row["balance"])

    def move_credits(
        self,
        db: sqlite3.Connection,
        dialect: str,
        key: str,
        task_id: str | None,
        kind: str,
        amount: Decimal,
        initial: Decimal,
    ) -> Decimal:
        """Add ``amount`` (negative to charge) and record it; returns the new balance."""
        new = self.balance(db, dialect, key, initial) + amount
        db.execute(
            "UPDATE balances SET balance = ? WHERE dialect = ? AND api_key = ?",
            (str(new), dialect, key),
        )
        db.execute(
            "INSERT INTO ledger (dialect, api_key, task_id, kind, amount, balance_after, at) "
            "VALUES (?,?,?,?,?,?,?)",
            (dialect, key, task_id, kind, str(amount), str(new), time.time()),
        )
        return new

    def set_balance(self, dialect: str, key: str, value: Decimal, initial: Decimal) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO keys (api_key) VALUES (?)", (key,))
            current = self.balance(db, dialect, key, initial)
            self.move_credits(db, dialect, key, None, "set", value - current, initial)

    def ledger(self, key: str) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT dialect, task_id, kind, amount, balance_after, at FROM ledger "
            "WHERE api_key = ? ORDER BY id",
            (key,),
        )
        return [dict(r) for r in rows]

    def statement(self, key: str, start: float, end: float) -> list[dict[str, Any]]:
        """Every task of `key` created in [start, end): what it was charged and
        refunded, as a provider's account statement lists them. Balance top-ups
        ("set") are not tasks and are left out."""
        rows = self.query(
            "SELECT t.id AS task_id, t.dialect, t.model, t.operation, t.speed, t.status, "
            "t.created_at, t.completed_at, t.images, t.error_code, "
            "l.kind, l.amount FROM tasks t JOIN ledger l "
            "ON l.task_id = t.id AND l.api_key = t.api_key AND l.dialect = t.dialect "
            "WHERE t.api_key = ? AND t.created_at >= ? AND t.created_at < ? "
            "AND l.kind IN ('charge', 'refund') ORDER BY t.created_at, t.id, l.id",
            (key, start, end),
        )
        tasks: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = tasks.get(row["task_id"])
            if entry is None:
                entry = tasks[row["task_id"]] = {
                    "task_id": row["task_id"],
                    "dialect": row["dialect"],
                    "model": row["model"],
                    "operation": row["operation"],
                    "speed": row["speed"],
                    "status": row["status"],
                    "created_at": row["created_at"],
                    "finished_at": row["completed_at"],
                    "images": len(json.loads(row["images"])) if row["status"] == "completed" else 0,
                    "error_code": row["error_code"],
                    "charged": Decimal(0),
                    "refunded": Decimal(0),
                }
            amount = Decimal(row["amount"])
            entry["charged" if row["kind"] == "charge" else "refunded"] += abs(amount)
        return list(tasks.values())
