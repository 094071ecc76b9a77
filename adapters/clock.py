"""Time and chance: the system's, and a manual clock for tests and demos."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock whose instant moves only when told to. Its sleep still waits on the event loop
    (the tries it spaces race real tasks) without moving the instant."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._now.timestamp()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class SystemChance:
    def identifier(self) -> str:
        return secrets.token_hex(16)

    def fraction(self) -> float:
        return random.random()  # noqa: S311 - jitter, not a secret
