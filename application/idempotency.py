"""A request that comes again gets the reply it got the first time, and nothing happens twice.

Kafka redelivers records after a crash; an HTTP client retries after a timeout with the same
``Idempotency-Key``. Both keep the reply under a request id in ``ProcessedRequests``, with one
rule (``holding``): a reply is kept for as long as it stays the answer. A verdict, a sent code
or a refused request is kept for the processed-request lifetime; "too many, try again in N s"
for those N seconds; a store that was down, an internal failure or a lock that only an operator
lifts are not kept: the same request, asked again, runs again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from application.ports import Clock, ProcessedRequests
from domain.errors import DependencyUnavailable, InternalError, InvalidRequest, OtpError, OtpLocked

Reply = dict[str, Any]


def holding(error: OtpError | None, keep: timedelta) -> timedelta:
    """How long a reply with ``error`` (None: success) answers a repeat of its request."""
    if isinstance(error, DependencyUnavailable | InternalError):
        return timedelta(0)
    retry_after = getattr(error, "retry_after_seconds", 0)
    if isinstance(error, OtpLocked) and retry_after is None:
        return timedelta(0)
    if retry_after:
        return min(keep, timedelta(seconds=retry_after))
    return keep


class IdempotentReplies:
    def __init__(self, *, processed: ProcessedRequests, clock: Clock, keep: timedelta) -> None:
        self._processed = processed
        self._clock = clock
        self._keep = keep

    async def kept(self, request_id: str, fingerprint: str) -> Reply | None:
        """The reply kept for ``request_id``, if any; ``fingerprint`` tells a repeat from
        another request reusing the id (refused)."""
        kept = await self._processed.get(request_id, self._clock.now())
        if kept is None:
            return None
        if "fingerprint" not in kept:
            return kept  # kept by an earlier version: the reply itself
        if kept["fingerprint"] != fingerprint:
            raise InvalidRequest(
                "This Idempotency-Key was used for another request; use a new key."
            )
        reply: Reply = kept["reply"]
        return reply

    async def keep(
        self, request_id: str, fingerprint: str, reply: Reply, error: OtpError | None
    ) -> None:
        """Keeps ``reply`` for as long as ``holding`` says (not at all for some)."""
        hold = holding(error, self._keep)
        if hold > timedelta(0):
            kept = {"reply": reply, "fingerprint": fingerprint}
            now = self._clock.now()
            await self._processed.put(request_id, kept, now + hold, now)

    async def once(
        self,
        request_id: str,
        fingerprint: str,
        answer: Callable[[], Awaitable[tuple[Reply, OtpError | None]]],
    ) -> tuple[Reply, bool]:
        """The kept reply (and True) when ``request_id`` was answered before; otherwise runs
        ``answer`` (the reply and its error, None for success), keeps the reply and returns it
        (and False)."""
        kept = await self.kept(request_id, fingerprint)
        if kept is not None:
            return kept, True
        reply, error = await answer()
        await self.keep(request_id, fingerprint, reply, error)
        return reply, False
