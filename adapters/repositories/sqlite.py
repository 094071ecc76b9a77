"""The embedded default's OTP repository: one SQLite row per (clientId, channel)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import aiosqlite

from adapters.repositories.documents import (
    instant_text,
    ledger_from_document,
    ledger_to_document,
)
from application.ports import StaleLedger
from domain.channel import Channel
from domain.errors import DependencyUnavailable
from domain.ledger import OtpLedger

SCHEMA = """
CREATE TABLE IF NOT EXISTS otp_ledgers (
    client_id    TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    retain_until TEXT,
    document     TEXT    NOT NULL,
    PRIMARY KEY (client_id, channel)
);
CREATE INDEX IF NOT EXISTS otp_ledgers_retain_until ON otp_ledgers (retain_until);
CREATE TABLE IF NOT EXISTS processed_requests (
    request_id TEXT PRIMARY KEY,
    reply      TEXT NOT NULL,
    keep_until TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS processed_requests_keep_until ON processed_requests (keep_until);
CREATE TABLE IF NOT EXISTS send_counts (
    key        TEXT PRIMARY KEY,
    buckets    TEXT NOT NULL,
    keep_until TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS send_counts_keep_until ON send_counts (keep_until);
"""


async def open_sqlite(path: Path) -> aiosqlite.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = await aiosqlite.connect(path, isolation_level=None)
    await connection.execute("PRAGMA journal_mode=WAL")
    await connection.execute("PRAGMA busy_timeout=5000")
    # WAL with synchronous=NORMAL: a commit reaches the OS at once, but the disk only at the
    # next checkpoint. A crash of the process loses nothing; a power cut may lose the last
    # moments of changes (a code must then be asked for again). See docs/performance.md.
    await connection.execute("PRAGMA synchronous=NORMAL")
    async with connection.execute("PRAGMA table_info(send_counts)") as cursor:
        columns = {row[1] for row in await cursor.fetchall()}
    if columns and "buckets" not in columns:
        # The first layout (one row per bucket). Counts only matter for an hour or a day:
        # starting them afresh is safe.
        await connection.execute("DROP TABLE send_counts")
    await connection.executescript(SCHEMA)
    return connection


class SqliteOtpRepository:
    """Saves are compare-and-set on ``version``, so exactly one of two racing writers wins."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    async def get(self, client_id: str, channel: Channel) -> OtpLedger | None:
        async with self._db.execute(
            "SELECT document, version FROM otp_ledgers WHERE client_id = ? AND channel = ?",
            (client_id, channel.value),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        doc = json.loads(row[0])
        doc["version"] = row[1]
        return ledger_from_document(doc)

    async def save(self, ledger: OtpLedger) -> None:
        doc = ledger_to_document(ledger)
        new_version = ledger.version + 1
        doc["version"] = new_version
        params = (new_version, doc["retainUntil"], json.dumps(doc))
        try:
            if ledger.version == 0:
                cursor = await self._db.execute(
                    "INSERT INTO otp_ledgers (version, retain_until, document, client_id, channel)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (*params, ledger.client_id, ledger.channel.value),
                )
            else:
                cursor = await self._db.execute(
                    "UPDATE otp_ledgers SET version = ?, retain_until = ?, document = ?"
                    " WHERE client_id = ? AND channel = ? AND version = ?",
                    (*params, ledger.client_id, ledger.channel.value, ledger.version),
                )
        except sqlite3.Error as exc:
            raise DependencyUnavailable(f"The OTP store failed: {type(exc).__name__}.") from None
        if cursor.rowcount != 1:
            raise StaleLedger((ledger.client_id, ledger.channel.value))
        ledger.version = new_version

    async def purge(self, now: datetime) -> int:
        cursor = await self._db.execute(
            "DELETE FROM otp_ledgers WHERE retain_until IS NOT NULL AND retain_until < ?",
            (instant_text(now),),
        )
        return cursor.rowcount

    async def ping(self) -> None:
        try:
            await self._db.execute("SELECT 1")
        except (sqlite3.Error, ValueError) as exc:
            raise DependencyUnavailable(f"The OTP store is unavailable: {exc}.") from None
