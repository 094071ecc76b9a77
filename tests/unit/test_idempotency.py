"""Kept replies: a retry gets the first reply; only final replies are kept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from application.idempotency import IdempotentReplies
from domain.errors import InvalidRequest
from tests.harness import Harness


def _replies() -> IdempotentReplies:
    return Harness().use_cases.idempotent_replies()


def test_kept_replies_leave_with_the_processed_request_ttl() -> None:
    harness = Harness()

    async def answer() -> tuple[dict[str, Any], bool]:
        return {"ok": True}, True

    harness.run(harness.replies.once("a", "f", answer))
    harness.advance(24 * 3600 + 1)
    harness.run(harness.processed.purge(harness.clock.now()))
    assert harness.run(harness.replies.recall("a")) is None


def test_a_final_reply_is_kept_and_replayed_and_a_passing_one_is_not() -> None:
    replies = _replies()
    runs: list[str] = []

    def answer(reply: dict[str, Any], final: bool) -> Any:
        async def run() -> tuple[dict[str, Any], bool]:
            runs.append(reply["n"])
            return reply, final

        return run

    async def scenario() -> list[tuple[dict[str, Any], bool]]:
        return [
            await replies.once("a", "f1", answer({"n": "1"}, True)),
            await replies.once("a", "f1", answer({"n": "2"}, True)),
            await replies.once("b", "f1", answer({"n": "3"}, False)),
            await replies.once("b", "f1", answer({"n": "4"}, True)),
        ]

    results = asyncio.run(scenario())
    assert results == [
        ({"n": "1"}, False),
        ({"n": "1"}, True),
        ({"n": "3"}, False),
        ({"n": "4"}, False),
    ]
    assert runs == ["1", "3", "4"]


def test_a_key_reused_for_another_request_is_refused() -> None:
    replies = _replies()

    async def answer() -> tuple[dict[str, Any], bool]:
        return {"ok": True}, True

    async def scenario() -> None:
        await replies.once("a", "f1", answer)
        await replies.once("a", "f2", answer)

    with pytest.raises(InvalidRequest, match="another request"):
        asyncio.run(scenario())
