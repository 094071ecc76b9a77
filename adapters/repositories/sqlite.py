"""The embedded default's OTP repository: one SQLite row per (clientId, channel)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import structlog

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
CREATE TABLE IF NOT EXISTS template_records (
    name     TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    served   TEXT,
    document TEXT NOT NULL
);
"""

Parameters = Sequence[Any] | Mapping[str, Any]


log = structlog.get_logger(__name__)

# SQLite's primary result codes for "another connection holds the lock".
BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# The event loop's connection leaves checkpoints to the worker thread's, every this many changes
# (about 3.5 MB of log with the ledger's row and index pages; SQLite's own default is 4 MB).
CHECKPOINT_EVERY = 250


class Result(NamedTuple):
    rows: list[Any]
    changed: int


def _run(connection: sqlite3.Connection, sql: str, params: Parameters) -> Result:
    cursor = connection.execute(sql, params)
    try:
        # Fetching every row steps the statement to its end, which commits it (autocommit).
        return Result(cursor.fetchall(), cursor.rowcount)
    finally:
        cursor.close()


def _report_checkpoint(done: asyncio.Future[Result]) -> None:
    # Nothing waits for a checkpoint: a failed one is logged (and the next one tries again).
    if not done.cancelled() and (error := done.exception()) is not None:
        log.warning("sqlite.checkpoint_failed", error=type(error).__name__)


class SqliteFile:
    """The embedded default's database file, through two connections to it.

    A statement runs on the event loop's own thread first: reading or writing a few rows of a
    file in the page cache takes tens of microseconds, far less than handing it to a thread
    and back (measured in docs/performance.md). That connection never waits for a lock
    (``busy_timeout=0``). A statement that would wait (another ``--workers`` process is
    writing, or a purge is) runs again on a thread of its own with a second connection, which
    waits up to 5 s without holding up the event loop. Checkpoints (the only fsyncs with
    ``synchronous=NORMAL``) and purges run on that thread too.
    """

    def __init__(self, fast: sqlite3.Connection, slow: sqlite3.Connection) -> None:
        self._fast = fast
        self._slow = slow
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._checkpointed_at = 0
        self._checkpoint: asyncio.Future[Result] | None = None

    async def execute(self, sql: str, params: Parameters = ()) -> Result:
        if self._checkpoint is not None and not self._checkpoint.done():
            # Behind the checkpoint, in the thread's queue: a write beside it would keep it
            # from ever finding the log quiet, and the log would grow without bound.
            return await self.execute_in_thread(sql, params)
        try:
            result = _run(self._fast, sql, params)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in BUSY_CODES:  # the primary code
                raise
            return await self.execute_in_thread(sql, params)
        if self._fast.total_changes - self._checkpointed_at >= CHECKPOINT_EVERY:
            self._checkpointed_at = self._fast.total_changes
            self._checkpoint = self.execute_in_thread("PRAGMA wal_checkpoint(RESTART)")
            self._checkpoint.add_done_callback(_report_checkpoint)
        return result

    def execute_in_thread(self, sql: str, params: Parameters = ()) -> asyncio.Future[Result]:
        """On the file's own thread: for statements that may run long or wait for a lock."""
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._thread, _run, self._slow, sql, params)

    async def close(self) -> None:
        if self._checkpoint is not None:
            with contextlib.suppress(sqlite3.Error):
                await self._checkpoint
        self._fast.close()
        await asyncio.get_running_loop().run_in_executor(self._thread, self._slow.close)
        self._thread.shutdown()


async def open_sqlite(path: Path) -> SqliteFile:
    path.parent.mkdir(parents=True, exist_ok=True)

    def connect(busy_timeout_ms: int, autocheckpoint: int) -> sqlite3.Connection:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        # WAL with synchronous=NORMAL: a commit reaches the OS at once, but the disk only at
        # the next checkpoint. A crash of the process loses nothing; a power cut may lose the
        # last moments of changes (a code must then be asked for again). See performance.md.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
        return connection

    def prepare() -> sqlite3.Connection:
        slow = connect(5000, 1000)
        try:
            slow.execute("PRAGMA journal_mode=WAL")
            columns = {row[1] for row in slow.execute("PRAGMA table_info(send_counts)")}
            if columns and "buckets" not in columns:
                # The first layout (one row per bucket). Counts only matter for an hour or a
                # day: starting them afresh is safe.
                slow.execute("DROP TABLE send_counts")
            slow.executescript(SCHEMA)
        except BaseException:
            slow.close()
            raise
        return slow

    slow = await asyncio.to_thread(prepare)
    # Both connections are used from one thread each: the event loop's, and the file's own.
    return SqliteFile(connect(0, 0), slow)


class SqliteOtpRepository:
    """Saves are compare-and-set on ``version``, so exactly one of two racing writers wins."""

    def __init__(self, database: SqliteFile) -> None:
        self._db = database

    async def get(self, client_id: str, channel: Channel) -> OtpLedger | None:
        rows, _ = await self._db.execute(
            "SELECT document, version FROM otp_ledgers WHERE client_id = ? AND channel = ?",
            (client_id, channel.value),
        )
        if not rows:
            return None
        document, version = rows[0]
        doc = json.loads(document)
        doc["version"] = version
        return ledger_from_document(doc)

    async def save(self, ledger: OtpLedger) -> None:
        doc = ledger_to_document(ledger)
        new_version = ledger.version + 1
        doc["version"] = new_version
        params = (new_version, doc["retainUntil"], json.dumps(doc))
        try:
            if ledger.version == 0:
                _, count = await self._db.execute(
                    "INSERT INTO otp_ledgers (version, retain_until, document, client_id, channel)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (*params, ledger.client_id, ledger.channel.value),
                )
            else:
                _, count = await self._db.execute(
                    "UPDATE otp_ledgers SET version = ?, retain_until = ?, document = ?"
                    " WHERE client_id = ? AND channel = ? AND version = ?",
                    (*params, ledger.client_id, ledger.channel.value, ledger.version),
                )
        except sqlite3.Error as exc:
            raise DependencyUnavailable(f"The OTP store failed: {type(exc).__name__}.") from None
        if count != 1:
            raise StaleLedger((ledger.client_id, ledger.channel.value))
        ledger.version = new_version

    async def purge(self, now: datetime) -> int:
        _, count = await self._db.execute_in_thread(
            "DELETE FROM otp_ledgers WHERE retain_until IS NOT NULL AND retain_until < ?",
            (instant_text(now),),
        )
        return count

    async def ping(self) -> None:
        try:
            await self._db.execute("SELECT 1")
        except (sqlite3.Error, ValueError) as exc:
            raise DependencyUnavailable(f"The OTP store is unavailable: {exc}.") from None
