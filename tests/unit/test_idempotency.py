"""Kept replies, one rule for Kafka and HTTP: a reply answers a repeat of its request for as long
as it stays the answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from application.idempotency import holding
from domain.errors import (
    DependencyUnavailable,
    InternalError,
    InvalidRequest,
    OtpError,
    OtpLocked,
    OtpMismatch,
    RateLimited,
)
from tests.harness import Harness

DAY = timedelta(days=1)


def _answer(reply: dict[str, Any], error: OtpError | None, runs: list[str]) -> Any:
    async def run() -> tuple[dict[str, Any], OtpError | None]:
        runs.append(reply["n"])
        return reply, error

    return run


@pytest.mark.parametrize(
    ("error", "held"),
    [
        (None, DAY),
        (OtpMismatch("wrong"), DAY),
        (InvalidRequest("bad"), DAY),
        (RateLimited("too many", 30), timedelta(seconds=30)),
        (OtpLocked("locked", 900), timedelta(seconds=900)),
        (OtpLocked("locked until an operator unlocks it"), timedelta(0)),
        (DependencyUnavailable("store down"), timedelta(0)),
        (InternalError("boom"), timedelta(0)),
    ],
)
def test_a_reply_is_held_while_it_stays_the_answer(error: OtpError | None, held: timedelta) -> None:
    assert holding(error, DAY) == held


def test_a_repeat_gets_the_kept_reply_and_a_try_again_reply_runs_again_after_its_wait() -> None:
    harness = Harness()
    replies, runs = harness.replies, list[str]()
    sent = harness.run(replies.once("a", "f", _answer({"n": "1"}, None, runs)))
    again = harness.run(replies.once("a", "f", _answer({"n": "2"}, None, runs)))
    limited = RateLimited("too many", 60)
    first = harness.run(replies.once("b", "f", _answer({"n": "3"}, limited, runs)))
    within = harness.run(replies.once("b", "f", _answer({"n": "4"}, None, runs)))
    harness.advance(61)
    after = harness.run(replies.once("b", "f", _answer({"n": "5"}, None, runs)))
    down = DependencyUnavailable("store down")
    harness.run(replies.once("c", "f", _answer({"n": "6"}, down, runs)))
    retried = harness.run(replies.once("c", "f", _answer({"n": "7"}, None, runs)))
    assert [sent, again, first, within, after, retried] == [
        ({"n": "1"}, False),
        ({"n": "1"}, True),
        ({"n": "3"}, False),
        ({"n": "3"}, True),
        ({"n": "5"}, False),
        ({"n": "7"}, False),
    ]
    assert runs == ["1", "3", "5", "6", "7"]


def test_kept_replies_leave_with_the_processed_request_ttl() -> None:
    harness = Harness()
    harness.run(harness.replies.once("a", "f", _answer({"n": "1"}, None, [])))
    harness.advance(24 * 3600 + 1)
    harness.run(harness.processed.purge(harness.clock.now()))
    assert harness.run(harness.replies.kept("a", "f")) is None


def test_a_key_reused_for_another_request_is_refused() -> None:
    harness = Harness()
    harness.run(harness.replies.once("a", "f1", _answer({"n": "1"}, None, [])))
    with pytest.raises(InvalidRequest, match="another request"):
        harness.run(harness.replies.once("a", "f2", _answer({"n": "2"}, None, [])))


def test_a_reply_kept_by_an_earlier_version_is_still_replayed() -> None:
    harness = Harness()
    old = {"processInstanceId": 7, "otpSent": True, "errorCode": None}
    now = harness.clock.now()
    harness.run(harness.processed.put("k", old, now + DAY, now))
    assert harness.run(harness.replies.kept("k", "k")) == old
