"""Purging at the clock's now, every store, past a failing one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from adapters.clock import ManualClock
from application.use_cases.purge_expired import PurgeExpired
from domain.errors import DependencyUnavailable

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class RecordingStore:
    def __init__(self, removes: int = 2) -> None:
        self.asked: list[datetime] = []
        self.removes = removes

    async def purge(self, now: datetime) -> int:
        self.asked.append(now)
        return self.removes


class DownStore:
    async def purge(self, now: datetime) -> int:
        raise DependencyUnavailable("The OTP store is unavailable.")


def test_every_store_is_purged_at_the_clocks_now_even_past_a_failing_one() -> None:
    clock = ManualClock(START)
    first, last = RecordingStore(), RecordingStore(0)
    purge = PurgeExpired(stores=[first, DownStore(), last], clock=clock)
    removed = asyncio.run(purge.execute())
    clock.advance(timedelta(hours=1))
    asyncio.run(purge.execute())
    assert first.asked == last.asked == [START, START + timedelta(hours=1)]
    assert removed == 2
