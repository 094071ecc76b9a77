"""Send counts in the embedded default's SQLite file: one row per key, its buckets as JSON."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from adapters.repositories.documents import instant_text
from adapters.repositories.sqlite import SqliteFile
from domain.errors import DependencyUnavailable
from domain.limits import BUCKETS_PER_WINDOW

# One statement: SQLite runs it atomically, also against other processes on the file, and it
# returns the key's buckets as this very send left them (one round trip, no lock, no transaction).
ADD = """
INSERT INTO send_counts (key, buckets, keep_until)
VALUES (:key, json_object(:bucket, :amount), :keep)
ON CONFLICT (key) DO UPDATE SET
    buckets = json_set(
        buckets, '$."' || :bucket || '"',
        coalesce(json_extract(buckets, '$."' || :bucket || '"'), 0) + :amount
    ),
    keep_until = max(keep_until, excluded.keep_until)
RETURNING buckets
"""
REMOVE = """
UPDATE send_counts SET buckets = json_set(
    buckets, '$."' || :bucket || '"',
    max(coalesce(json_extract(buckets, '$."' || :bucket || '"'), 0) - :amount, 0)
) WHERE key = :key
"""
PRUNE = "UPDATE send_counts SET buckets = ? WHERE key = ?"
# A key's row drops the buckets out of its window once it holds this many.
PRUNE_AT = 2 * BUCKETS_PER_WINDOW


class SqliteSendCounters:
    def __init__(self, database: SqliteFile) -> None:
        self._db = database

    async def add(
        self, key: str, bucket: int, keep_until: datetime, amount: int = 1
    ) -> dict[int, int]:
        params = {
            "key": key,
            "bucket": str(bucket),
            "keep": instant_text(keep_until),
            "amount": amount,
        }
        try:
            rows, _ = await self._db.execute(ADD, params)
            buckets = {int(b): int(n) for b, n in json.loads(rows[0][0] if rows else "{}").items()}
            if len(buckets) > PRUNE_AT:
                # A bucket counts until keep_until: one that old before this one is out.
                span = keep_until.timestamp() - bucket
                live = {str(b): n for b, n in buckets.items() if b >= bucket - span}
                await self._db.execute(PRUNE, (json.dumps(live), key))
        except sqlite3.Error as exc:
            raise DependencyUnavailable(f"The send counts failed: {type(exc).__name__}.") from None
        return buckets

    async def remove(self, key: str, bucket: int, amount: int = 1) -> None:
        try:
            await self._db.execute(REMOVE, {"key": key, "bucket": str(bucket), "amount": amount})
        except sqlite3.Error as exc:
            raise DependencyUnavailable(f"The send counts failed: {type(exc).__name__}.") from None

    async def purge(self, now: datetime) -> int:
        _, count = await self._db.execute_in_thread(
            "DELETE FROM send_counts WHERE keep_until < ?", (instant_text(now),)
        )
        return count
