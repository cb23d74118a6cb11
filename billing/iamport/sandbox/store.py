"""The sandbox's state: one SQLite file, safe for many threads, surviving restarts.

Objects are kept as the JSON annotations the API answers with, plus the few columns
needed to find them. Card numbers are never stored, only the masked form and a flag.
"""

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, expired_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    customer_uid TEXT PRIMARY KEY, charges_fail INTEGER NOT NULL, annotation TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    imp_uid TEXT PRIMARY KEY, merchant_uid TEXT NOT NULL, customer_uid TEXT,
    created INTEGER NOT NULL, annotation TEXT NOT NULL, notice_url TEXT
);
CREATE INDEX IF NOT EXISTS payments_merchant_uid ON payments (merchant_uid, created);
CREATE INDEX IF NOT EXISTS payments_customer_uid ON payments (customer_uid, created);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS schedules (
    merchant_uid TEXT PRIMARY KEY, customer_uid TEXT NOT NULL, schedule_at INTEGER NOT NULL,
    schedule_status TEXT NOT NULL, annotation TEXT NOT NULL, notice_url TEXT
);
CREATE INDEX IF NOT EXISTS schedules_due ON schedules (schedule_status, schedule_at);
CREATE INDEX IF NOT EXISTS schedules_customer_uid ON schedules (customer_uid, schedule_status);
"""


class Store:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self._local = threading.local()
        # SQLite allows one writer; a lock here turns "database is locked" retries into a short queue.
        self.write_lock = threading.RLock()
        with self.write_lock:
            self._connection().executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def query(self, sql: str, *params: Any) -> list[tuple]:
        return self._connection().execute(sql, params).fetchall()

    def execute(self, sql: str, *params: Any) -> None:
        with self.write_lock:
            self._connection().execute(sql, params)

    def reset(self) -> None:
        with self.write_lock:
            for table in ("tokens", "customers", "payments", "counters", "schedules"):
                self._connection().execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def next_number(self, name: str) -> int:
        with self.write_lock:
            connection = self._connection()
            connection.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1",
                (name,),
            )
            return connection.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0]

    # --- customers (billing keys) ------------------------------------------------------------------
    def get_customer(self, customer_uid: str) -> tuple[dict, bool] | None:
        rows = self.query(
            "SELECT annotation, charges_fail FROM customers WHERE customer_uid = ?", customer_uid
        )
        return (json.loads(rows[0][0]), bool(rows[0][1])) if rows else None

    def put_customer(self, annotation: dict, *, charges_fail: bool) -> None:
        self.execute(
            "INSERT INTO customers (customer_uid, charges_fail, annotation) VALUES (?, ?, ?) "
            "ON CONFLICT (customer_uid) DO UPDATE SET charges_fail = excluded.charges_fail, "
            "annotation = excluded.annotation",
            annotation["customer_uid"],
            int(charges_fail),
            json.dumps(annotation, ensure_ascii=False),
        )

    def delete_customer(self, customer_uid: str) -> None:
        self.execute("DELETE FROM customers WHERE customer_uid = ?", customer_uid)

    # --- payments ---------------------------------------------------------------------------------
    def put_payment(self, annotation: dict, *, created: int, notice_url: str | None = None) -> None:
        self.execute(
            "INSERT INTO payments (imp_uid, merchant_uid, customer_uid, created, annotation, notice_url) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (imp_uid) DO UPDATE SET annotation = excluded.annotation",
            annotation["imp_uid"],
            annotation["merchant_uid"],
            annotation.get("customer_uid"),
            created,
            json.dumps(annotation, ensure_ascii=False),
            notice_url,
        )

    def get_payment(self, imp_uid: str) -> dict | None:
        rows = self.query("SELECT annotation FROM payments WHERE imp_uid = ?", imp_uid)
        return json.loads(rows[0][0]) if rows else None

    def latest_payment_for(self, merchant_uid: str, status: str | None = None) -> dict | None:
        """The newest payment with this merchant_uid (and this status, when given)."""
        rows = self.query(
            "SELECT annotation FROM payments WHERE merchant_uid = ? "
            "AND (? IS NULL OR json_extract(annotation, '$.status') = ?) "
            "ORDER BY created DESC, rowid DESC LIMIT 1",
            merchant_uid,
            status,
            status,
        )
        return json.loads(rows[0][0]) if rows else None

    def notice_url_of(self, imp_uid: str) -> str | None:
        rows = self.query("SELECT notice_url FROM payments WHERE imp_uid = ?", imp_uid)
        return rows[0][0] if rows else None

    def payments_of_customer(self, customer_uid: str, *, offset: int, limit: int) -> tuple[int, list[dict]]:
        total = self.query("SELECT COUNT(*) FROM payments WHERE customer_uid = ?", customer_uid)[0][0]
        rows = self.query(
            "SELECT annotation FROM payments WHERE customer_uid = ? ORDER BY created DESC, rowid DESC "
            "LIMIT ? OFFSET ?",
            customer_uid,
            limit,
            offset,
        )
        return total, [json.loads(row[0]) for row in rows]

    # --- schedules --------------------------------------------------------------------------------
    def put_schedule(self, schedule: dict, *, notice_url: str | None) -> None:
        """A new schedule (replacing a revoked one with the same merchant_uid)."""
        self.execute(
            "INSERT OR REPLACE INTO schedules (merchant_uid, customer_uid, schedule_at, schedule_status, "
            "annotation, notice_url) VALUES (?, ?, ?, ?, ?, ?)",
            schedule["merchant_uid"],
            schedule["customer_uid"],
            schedule["schedule_at"],
            schedule["schedule_status"],
            json.dumps(schedule, ensure_ascii=False),
            notice_url,
        )

    def update_schedule(self, schedule: dict) -> None:
        """Its status changed (executed, revoked); where it notifies stays."""
        self.execute(
            "UPDATE schedules SET schedule_status = ?, annotation = ? WHERE merchant_uid = ?",
            schedule["schedule_status"],
            json.dumps(schedule, ensure_ascii=False),
            schedule["merchant_uid"],
        )

    def get_schedule(self, merchant_uid: str) -> tuple[dict, str | None] | None:
        rows = self.query("SELECT annotation, notice_url FROM schedules WHERE merchant_uid = ?", merchant_uid)
        return (json.loads(rows[0][0]), rows[0][1]) if rows else None

    def scheduled_of_customer(self, customer_uid: str) -> list[dict]:
        rows = self.query(
            "SELECT annotation FROM schedules WHERE customer_uid = ? AND schedule_status = 'scheduled' "
            "ORDER BY schedule_at, rowid",
            customer_uid,
        )
        return [json.loads(row[0]) for row in rows]

    def due_schedules(self, now: int) -> list[str]:
        rows = self.query(
            "SELECT merchant_uid FROM schedules WHERE schedule_status = 'scheduled' AND schedule_at <= ? "
            "ORDER BY schedule_at, rowid",
            now,
        )
        return [row[0] for row in rows]
