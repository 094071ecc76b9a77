"""Requests for the same (clientId, channel) run one after another, in arrival order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Hashable
from typing import Any


class KeyedSequencer:
    """Different keys run concurrently; the same key runs in submission order."""

    def __init__(self) -> None:
        self._tails: dict[Hashable, asyncio.Task[Any]] = {}

    def submit(self, key: Hashable | None, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        if key is None:
            return asyncio.create_task(work)
        previous = self._tails.get(key)

        async def after_previous() -> Any:
            if previous is not None:
                # Its outcome is its own business; this one only waits its turn.
                with contextlib.suppress(BaseException):
                    await asyncio.shield(previous)
            return await work

        task = asyncio.create_task(after_previous())
        self._tails[key] = task
        task.add_done_callback(lambda done: self._release(key, done))
        return task

    def _release(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._tails.get(key) is task:
            del self._tails[key]
