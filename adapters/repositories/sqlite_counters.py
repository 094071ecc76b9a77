"""Send counts in the embedded default's SQLite file: one row per (key, bucket)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime

import aiosqlite

from adapters.repositories.documents import instant_text
from domain.errors import DependencyUnavailable


class SqliteSendCounters:
    """``add`` increments and reads back in one write transaction (``BEGIN IMMEDIATE``), so each
    send sees the count it made, in this process (a lock) and in others sharing the file."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection
        self._lock = asyncio.Lock()

    async def add(self, key: str, bucket: int, keep_until: datetime) -> dict[int, int]:
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    await self._db.execute(
                        "INSERT INTO send_counts (key, bucket, count, keep_until)"
                        " VALUES (?, ?, 1, ?)"
                        " ON CONFLICT (key, bucket) DO UPDATE SET count = count + 1",
                        (key, bucket, instant_text(keep_until)),
                    )
                    async with self._db.execute(
                        "SELECT bucket, count FROM send_counts WHERE key = ?", (key,)
                    ) as cursor:
                        rows = await cursor.fetchall()
                finally:
                    await self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise DependencyUnavailable(
                    f"The send counts failed: {type(exc).__name__}."
                ) from None
        return {int(b): int(n) for b, n in rows}

    async def remove(self, key: str, bucket: int) -> None:
        try:
            await self._db.execute(
                "UPDATE send_counts SET count = count - 1"
                " WHERE key = ? AND bucket = ? AND count > 0",
                (key, bucket),
            )
        except sqlite3.Error as exc:
            raise DependencyUnavailable(f"The send counts failed: {type(exc).__name__}.") from None

    async def purge(self, now: datetime) -> int:
        cursor = await self._db.execute(
            "DELETE FROM send_counts WHERE keep_until < ?", (instant_text(now),)
        )
        return cursor.rowcount
