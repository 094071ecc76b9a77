"""Segment counting and the retry/failover rules of delivery, over scripted providers."""

from __future__ import annotations

import asyncio

import pytest

from adapters.channels.failover import (
    DeliveryError,
    FailoverChannel,
    PermanentDeliveryError,
    RetryPolicy,
    TransientDeliveryError,
)
from adapters.channels.sms_segments import SmsLengthCheck, segments
from domain.channel import Channel
from domain.errors import DeliveryFailed
from domain.notification import Notification
from domain.recipient import Recipient
from domain.template import RenderedMessage

FAST = RetryPolicy(attempts=3, wait_initial=0.001, wait_max=0.002)


def sms(text: str) -> Notification:
    return Notification(
        reference="r1",
        recipient=Recipient(Channel.SMS, "+40722123456"),
        template_name="t",
        language="en",
        message=RenderedMessage(text=text),
    )


class Scripted:
    """A provider that answers from a script: an exception to raise, or a message id."""

    def __init__(self, name: str, *script: DeliveryError | str) -> None:
        self.name = name
        self.script = list(script)
        self.calls = 0

    async def deliver(self, notification: Notification) -> str | None:
        self.calls += 1
        answer = self.script.pop(0) if self.script else "ok"
        if isinstance(answer, DeliveryError):
            raise answer
        return answer


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # an extension character takes two septets
        ("€" * 81, 2),
        ("ș" * 70, 1),  # Romanian comma-below letters force UCS-2
        ("ș" * 71, 2),
        ("ș" * 134, 2),
        ("ș" * 135, 3),
    ],
)
def test_segments_follow_gsm7_and_ucs2_sizes(text: str, count: int) -> None:
    assert segments(text) == count


def test_a_too_long_sms_is_refused_and_a_long_one_costs_its_parts() -> None:
    check = SmsLengthCheck(2)
    with pytest.raises(DeliveryFailed, match="3 segments"):
        check.cost(sms("ș" * 200))
    assert (check.cost(sms("ș" * 70)), check.cost(sms("ș" * 71))) == (1, 2)


def test_a_transient_failure_is_retried_until_it_passes() -> None:
    provider = Scripted("p", TransientDeliveryError("SMTP 451"), "id-7")
    result = asyncio.run(FailoverChannel([provider], FAST).send(sms("x")))
    assert (result.delivered, result.attempts, result.provider_message_id) == (True, 2, "id-7")


def test_a_permanent_failure_is_not_retried_nor_failed_over() -> None:
    first = Scripted("first", PermanentDeliveryError("HTTP 400"))
    second = Scripted("second")
    result = asyncio.run(FailoverChannel([first, second], FAST).send(sms("x")))
    assert (result.delivered, result.attempts, result.reason) == (False, 1, "HTTP 400")
    assert second.calls == 0


def test_retries_are_bounded_then_the_next_provider_is_tried() -> None:
    down = Scripted("down", *[TransientDeliveryError("refused")] * 5)
    live = Scripted("live")
    result = asyncio.run(FailoverChannel([down, live], FAST).send(sms("x")))
    assert (down.calls, live.calls) == (3, 1)
    assert (result.delivered, result.provider, result.attempts) == (True, "live", 4)


def test_when_every_provider_fails_the_reasons_are_all_given() -> None:
    one = Scripted("one", *[TransientDeliveryError("HTTP 503")] * 3)
    two = Scripted("two", *[TransientDeliveryError("timeout")] * 3)
    result = asyncio.run(FailoverChannel([one, two], FAST).send(sms("x")))
    assert (result.delivered, result.attempts) == (False, 6)
    assert result.reason == "one: HTTP 503; two: timeout"
