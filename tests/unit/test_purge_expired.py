"""Purging at the clock's now, every store, past a failing one."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from dependency_injector import providers

from domain.channel import Channel
from domain.errors import DependencyUnavailable
from tests.harness import Harness


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
    harness = Harness()
    start = harness.clock.now()
    first, last = RecordingStore(), RecordingStore(0)
    adapters = harness.adapters
    adapters.repository.override(providers.Object(first))
    adapters.processed.override(providers.Object(DownStore()))
    adapters.counters.override(providers.Object(last))
    purge = harness.use_cases.purge_expired()
    removed = asyncio.run(purge.execute())
    harness.advance(3600)
    asyncio.run(purge.execute())
    assert first.asked == last.asked == [start, start + timedelta(hours=1)]
    assert removed == 2


def test_a_ledger_is_purged_once_its_code_and_sends_no_longer_count(harness: Harness) -> None:
    harness.generate()
    purge = harness.use_cases.purge_expired()
    harness.advance(599)
    assert harness.run(purge.execute()) == 0
    harness.advance(2)
    assert harness.run(purge.execute()) == 1
    assert harness.run(harness.repository.get("c1", Channel.SMS)) is None
