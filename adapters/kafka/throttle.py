"""Logs that stay readable during an outage: one line per subject per interval, not per record."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class ThrottledLog:
    """Emits a warning for a subject at most once per ``interval`` seconds, with the number of
    like events it held back since the last line."""

    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, subject: str, event: str, **fields: Any) -> bool:
        """Returns True when the line was written."""
        now = self._clock()
        last = self._last.get(subject)
        if last is not None and now - last < self._interval:
            self._held[subject] = self._held.get(subject, 0) + 1
            return False
        self._last[subject] = now
        log.warning(event, subject=subject, held_back=self._held.pop(subject, 0), **fields)
        return True
