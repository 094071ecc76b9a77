"""Replies already given, held in memory, for tests."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any


class InMemoryProcessedRequests:
    def __init__(self) -> None:
        self.replies: dict[str, tuple[dict[str, Any], datetime]] = {}

    async def get(self, request_id: str, now: datetime) -> dict[str, Any] | None:
        found = self.replies.get(request_id)
        return copy.deepcopy(found[0]) if found and found[1] >= now else None

    async def put(
        self, request_id: str, reply: dict[str, Any], keep_until: datetime, now: datetime
    ) -> None:
        found = self.replies.get(request_id)
        if found is None or found[1] < now:
            self.replies[request_id] = (copy.deepcopy(reply), keep_until)

    async def purge(self, now: datetime) -> int:
        gone = [rid for rid, (_, until) in self.replies.items() if until < now]
        for rid in gone:
            del self.replies[rid]
        return len(gone)
