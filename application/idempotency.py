"""A request that comes again gets the reply it got the first time, and nothing happens twice.

Kafka redelivers records after a crash; an HTTP client retries after a timeout with the same
``Idempotency-Key``. Both keep the reply under a request id in ``ProcessedRequests``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from application.ports import Clock, ProcessedRequests
from domain.errors import InvalidRequest

Reply = dict[str, Any]


class IdempotentReplies:
    def __init__(self, *, processed: ProcessedRequests, clock: Clock, keep: timedelta) -> None:
        self._processed = processed
        self._clock = clock
        self._keep = keep

    async def recall(self, request_id: str) -> Reply | None:
        return await self._processed.get(request_id)

    async def remember(self, request_id: str, reply: Reply) -> None:
        await self._processed.put(request_id, reply, self._clock.now() + self._keep)

    async def once(
        self,
        request_id: str,
        fingerprint: str,
        answer: Callable[[], Awaitable[tuple[Reply, bool]]],
    ) -> tuple[Reply, bool]:
        """The kept reply (and True) when ``request_id`` was answered before; otherwise runs
        ``answer``, which returns the reply and whether it is final (a store that was down is
        not: the same request, retried, should run again), keeps a final one, and returns it
        (and False). ``fingerprint`` tells a retry from another request reusing the id."""
        kept = await self.recall(request_id)
        if kept is not None:
            if kept.get("fingerprint") != fingerprint:
                raise InvalidRequest(
                    "This Idempotency-Key was used for another request; use a new key."
                )
            reply: Reply = kept["reply"]
            return reply, True
        reply, final = await answer()
        if final:
            await self.remember(request_id, {"reply": reply, "fingerprint": fingerprint})
        return reply, False
