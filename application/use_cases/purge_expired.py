"""Deleting what is past its retention: ledgers, kept replies and send counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import structlog

from application.ports import Clock
from domain.errors import OtpError

log = structlog.get_logger(__name__)


class Purgeable(Protocol):
    async def purge(self, now: datetime) -> int: ...


class PurgeExpired:
    """One pass over every store, at the ``Clock``'s now; a store that fails is logged and
    skipped, so the others are still purged."""

    def __init__(self, *, stores: Sequence[Purgeable], clock: Clock) -> None:
        self._stores = stores
        self._clock = clock

    async def execute(self) -> int:
        """Returns how many records went, in all stores."""
        now = self._clock.now()
        total = 0
        for store in self._stores:
            name = type(store).__name__
            try:
                removed = await store.purge(now)
            except OtpError as exc:
                log.warning("purge.failed", store=name, error=exc.message)
                continue
            if removed:
                log.info("purge.done", store=name, removed=removed)
            total += removed
        return total
