"""Logs that stay readable during an outage: one line per subject per interval, not per record."""

from __future__ import annotations

import logging
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


class ClientLog:
    """librdkafka's own log lines, given to confluent-kafka as its ``logger``: warnings and
    errors (a ``FAIL`` line per reconnect while a broker is down, from every client) join the
    service's line for the dependency, at most one per interval with the count held back; the
    rest go to the standard library's ``confluent_kafka`` logger as they come."""

    SUBJECT = "kafka"

    def __init__(self, throttle: ThrottledLog, logger: logging.Logger | None = None) -> None:
        self._throttle = throttle
        self._logger = logger or logging.getLogger("confluent_kafka")

    def log(self, level: int, message: str, *args: object) -> None:
        if level < logging.WARNING:
            self._logger.log(level, message, *args)
            return
        try:
            line = message % args if args else message
        except (TypeError, ValueError):
            line = " ".join(map(str, (message, *args)))
        self._throttle.warning(
            self.SUBJECT, "kafka.client_error", error=line, level=logging.getLevelName(level)
        )
