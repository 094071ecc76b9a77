"""Replies already given, kept in the embedded default's SQLite file."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from adapters.repositories.documents import instant_text
from adapters.repositories.sqlite import SqliteFile


class SqliteProcessedRequests:
    def __init__(self, database: SqliteFile) -> None:
        self._db = database

    async def get(self, request_id: str, now: datetime) -> dict[str, Any] | None:
        rows, _ = await self._db.execute(
            "SELECT reply FROM processed_requests WHERE request_id = ? AND keep_until >= ?",
            (request_id, instant_text(now)),
        )
        return json.loads(rows[0][0]) if rows else None

    async def put(
        self, request_id: str, reply: dict[str, Any], keep_until: datetime, now: datetime
    ) -> None:
        # The first live reply stands: a redelivery must never change what was answered.
        await self._db.execute(
            "INSERT INTO processed_requests (request_id, reply, keep_until) VALUES (?, ?, ?)"
            " ON CONFLICT (request_id) DO UPDATE SET reply = excluded.reply,"
            " keep_until = excluded.keep_until WHERE processed_requests.keep_until < ?",
            (request_id, json.dumps(reply), instant_text(keep_until), instant_text(now)),
        )

    async def purge(self, now: datetime) -> int:
        _, count = await self._db.execute_in_thread(
            "DELETE FROM processed_requests WHERE keep_until < ?", (instant_text(now),)
        )
        return count
