"""Waiting between compare-and-set tries on one ledger, so racing writers spread out."""

from __future__ import annotations

from application.ports import Chance, Clock

FIRST_WAIT = 0.002
LONGEST_WAIT = 0.05


async def back_off(attempt: int, clock: Clock, chance: Chance) -> None:
    """Sleeps a random time up to 2 ms × 2^attempt (at most 50 ms): "full jitter", so the
    writers that lost a race do not all come back at the same instant."""
    await clock.sleep(chance.fraction() * min(LONGEST_WAIT, FIRST_WAIT * 2**attempt))
