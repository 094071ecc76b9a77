"""Send counts in memory, for tests and a single process."""

from __future__ import annotations

from datetime import datetime


class InMemorySendCounters:
    def __init__(self) -> None:
        self.counts: dict[str, dict[int, int]] = {}
        self._keep: dict[str, datetime] = {}

    async def add(
        self, key: str, bucket: int, keep_until: datetime, amount: int = 1
    ) -> dict[int, int]:
        buckets = self.counts.setdefault(key, {})
        buckets[bucket] = buckets.get(bucket, 0) + amount
        self._keep[key] = max(self._keep.get(key, keep_until), keep_until)
        return dict(buckets)

    async def remove(self, key: str, bucket: int, amount: int = 1) -> None:
        buckets = self.counts.get(key, {})
        if bucket in buckets:
            buckets[bucket] = max(buckets[bucket] - amount, 0)

    async def purge(self, now: datetime) -> int:
        gone = [k for k, until in self._keep.items() if until < now]
        for key in gone:
            del self._keep[key]
            self.counts.pop(key, None)
        return len(gone)
