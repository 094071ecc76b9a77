"""Replies already given, kept in the embedded default's SQLite file."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiosqlite

from adapters.repositories.documents import instant_text


class SqliteProcessedRequests:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    async def get(self, request_id: str) -> dict[str, Any] | None:
        async with self._db.execute(
            "SELECT reply FROM processed_requests WHERE request_id = ?", (request_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return json.loads(row[0]) if row is not None else None

    async def put(self, request_id: str, reply: dict[str, Any], keep_until: datetime) -> None:
        # The first reply stands: a redelivery must never change what was already answered.
        await self._db.execute(
            "INSERT INTO processed_requests (request_id, reply, keep_until) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (request_id, json.dumps(reply), instant_text(keep_until)),
        )

    async def purge(self, now: datetime) -> int:
        cursor = await self._db.execute(
            "DELETE FROM processed_requests WHERE keep_until < ?", (instant_text(now),)
        )
        return cursor.rowcount
