"""SMS over SMPP 3.4 against a real SMSC (jsmpp's server session, scripts/services): encodings,
concatenated parts, throttling, refusals, a dropped bind, delivery receipts and the resend they
may call for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import httpx
import pytest
from prometheus_client import CollectorRegistry

from adapters.channels.failover import (
    FailoverChannel,
    PermanentDeliveryError,
    Provider,
    RetryPolicy,
)
from adapters.channels.receipts import DeliveryReceipts
from adapters.channels.resend import ResendingChannel
from adapters.channels.smpp import UDHI, SmppSmsProvider, smpp_provider
from adapters.channels.sms_segments import GSM7, UCS2, SmsLengthCheck, encoded
from adapters.telemetry import Telemetry
from application.events import Happened, LifecycleEvents, OtpEvent
from application.outcomes import Outcome, Status
from domain.channel import Channel
from domain.notification import DeliveryReport, DeliveryResult, Notification
from domain.recipient import Recipient
from domain.template import RenderedMessage
from tests.harness import Harness
from tests.outbox import code_in
from tests.sms_server import SmsProviders
from tests.smsc import Smsc

pytestmark = [pytest.mark.integration, pytest.mark.smsc]

T = TypeVar("T")


def note(text: str, reference: str = "r1") -> Notification:
    return Notification(
        reference=reference,
        recipient=Recipient(Channel.SMS, "+40722123456"),
        template_name="otp-sms",
        language="ro",
        message=RenderedMessage(text=text),
    )


def with_provider(
    smsc: Smsc,
    body: Callable[[SmppSmsProvider, DeliveryReceipts], Awaitable[T]],
    **settings: str,
) -> tuple[T, DeliveryReceipts, CollectorRegistry]:
    registry = CollectorRegistry()
    receipts = DeliveryReceipts(registry)

    async def run() -> T:
        async with smpp_provider(smsc.config(**settings), receipts) as provider:
            return await body(provider, receipts)

    return asyncio.run(run()), receipts, registry


async def ended(
    receipts: DeliveryReceipts, count: int = 1, seconds: float = 5
) -> list[DeliveryReport]:
    """Waits for ``count`` messages to end by their receipts."""
    deadline = asyncio.get_running_loop().time() + seconds
    while len(receipts.outcomes) < count and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    return list(receipts.outcomes)


def kinds(registry: CollectorRegistry, kind: str) -> float:
    value = registry.get_sample_value("otp_sms_receipts_total", {"provider": "smpp", "kind": kind})
    return value or 0.0


def test_a_gsm_text_goes_as_data_coding_0_and_a_romanian_one_as_ucs2(smsc: Smsc) -> None:
    gsm, romanian = "Your code is 123456", "Codul tău este 123456 (ș, ț)"

    async def body(provider: SmppSmsProvider, _: DeliveryReceipts) -> None:
        await provider.deliver(note(gsm))
        await provider.deliver(note(romanian))

    with_provider(smsc, body)
    first, second = smsc.received()
    assert (first["dataCoding"], first["shortMessage"]) == (GSM7, encoded(gsm)[1])
    assert (second["dataCoding"], second["shortMessage"].decode("utf-16-be")) == (UCS2, romanian)
    assert first["destination"] == "40722123456" and first["source"] == "OTP"
    assert first["esmClass"] == 0 and first["registeredDelivery"] == 1


def test_a_text_of_three_parts_goes_as_concatenated_parts_with_one_reference(smsc: Smsc) -> None:
    text = "Codul de confirmare pentru plata catre Magazin SRL este 123456. " * 6  # 390 chars

    async def body(provider: SmppSmsProvider, receipts: DeliveryReceipts) -> list[DeliveryReport]:
        await provider.deliver(note(text))
        return await ended(receipts)

    (outcome,), _, _ = with_provider(smsc, body)
    submits = smsc.received()
    assert len(submits) == 3
    headers = [s["shortMessage"][:6] for s in submits]
    reference = headers[0][3]
    assert headers == [bytes([5, 0, 3, reference, 3, n]) for n in (1, 2, 3)]
    assert all(s["esmClass"] == UDHI for s in submits)
    assert b"".join(s["shortMessage"][6:] for s in submits) == encoded(text)[1]
    # The message is delivered once every part's receipt is in.
    assert outcome.delivered and outcome.reference == "r1"


def test_a_long_text_goes_whole_in_message_payload_when_asked(smsc: Smsc) -> None:
    text = "Codul tău este 123456. " * 8

    async def body(provider: SmppSmsProvider, _: DeliveryReceipts) -> None:
        await provider.deliver(note(text))

    with_provider(smsc, body, SMPP_LONG_MESSAGES="payload")
    (submit,) = smsc.received()
    assert submit["shortMessage"] == b"" and submit["dataCoding"] == UCS2
    assert submit["messagePayload"].decode("utf-16-be") == text


def test_throttled_submits_wait_and_go_through_once(smsc: Smsc) -> None:
    smsc.set(throttle=2)

    async def body(provider: SmppSmsProvider, _: DeliveryReceipts) -> str | None:
        return await provider.deliver(note("Your code is 123456"))

    message_id, _, _ = with_provider(smsc, body)
    (submit,) = smsc.received()
    assert submit["messageId"] == message_id


def test_a_refused_number_is_a_permanent_failure_and_not_tried_again(smsc: Smsc) -> None:
    smsc.set(refuse=1)

    async def body(provider: SmppSmsProvider, _: DeliveryReceipts) -> str:
        with pytest.raises(PermanentDeliveryError) as refused:
            await provider.deliver(note("Your code is 123456"))
        return refused.value.reason

    reason, _, _ = with_provider(smsc, body)
    assert "0x0000000B" in reason
    assert smsc.received() == []


@pytest.mark.parametrize("window", [1, 10])
def test_a_bind_dropped_in_a_burst_is_bound_again_and_nothing_is_lost(
    smsc: Smsc, window: int
) -> None:
    before = smsc.sessions()["binds"]
    smsc.set(dropAfter=8)
    count = 30

    async def body(provider: SmppSmsProvider, _: DeliveryReceipts) -> list[bool]:
        channel = FailoverChannel([provider], RetryPolicy(attempts=3, wait_initial=0.05))
        results = await asyncio.gather(
            *(channel.send(note(f"Your code is {n:06d}", f"r{n}")) for n in range(count))
        )
        return [result.delivered for result in results]

    delivered, _, _ = with_provider(smsc, body, SMPP_WINDOW=str(window))
    assert all(delivered)
    texts = [s["shortMessage"].decode() for s in smsc.received()]
    assert {f"Your code is {n:06d}" for n in range(count)} <= set(texts)
    # A submit in flight as the bind drops may have been taken: sent again, it arrives twice.
    # At most the window's worth: one SMS with a window of 1.
    assert len(texts) - count <= window
    assert smsc.sessions()["binds"] - before >= 2


@pytest.mark.parametrize(
    ("mode", "outcome", "counted"),
    [
        ("delivered", "delivered", None),
        ("undelivered", "undelivered", None),
        ("duplicate", "delivered", "duplicate"),
        ("early", "delivered", "early"),
    ],
)
def test_receipts_end_each_message_once(
    smsc: Smsc, mode: str, outcome: str, counted: str | None
) -> None:
    smsc.set(receipts=mode)

    async def body(provider: SmppSmsProvider, receipts: DeliveryReceipts) -> list[DeliveryReport]:
        await provider.deliver(note("Your code is 123456"))
        await ended(receipts)
        await asyncio.sleep(0.3)  # a duplicate would come by now
        return list(receipts.outcomes)

    (ending,), receipts, registry = with_provider(smsc, body)
    assert ending.delivered == (outcome == "delivered") and ending.reference == "r1"
    if outcome == "undelivered":
        assert ending.error.startswith("UNDELIV")
    assert kinds(registry, outcome) == 1
    if counted is not None:
        assert kinds(registry, counted) == 1
    assert receipts.unmatched() == 0


def test_a_code_sent_through_the_smsc_validates_and_its_receipt_ends_it(
    smsc: Smsc, harness: Harness
) -> None:
    receipts = DeliveryReceipts()
    provider = SmppSmsProvider(smsc.config(), receipts)
    harness.channels[Channel.SMS] = FailoverChannel([provider], RetryPolicy(attempts=2))
    harness.checks[Channel.SMS] = SmsLengthCheck(3)
    try:
        assert harness.generate(clientId="c1", language="ro")["otpSent"] is True
        (submit,) = smsc.received()
        data = submit["shortMessage"]
        text = data.decode("utf-16-be" if submit["dataCoding"] == UCS2 else "gsm03.38")
        assert harness.validate(code_in(text))["otpValid"] is True
        (outcome,) = harness.run(ended(receipts))
        assert outcome.delivered
    finally:
        harness.run(provider.close())


class KeptEvents:
    def __init__(self) -> None:
        self.events: list[OtpEvent] = []

    async def publish(self, events: Sequence[OtpEvent]) -> None:
        self.events.extend(events)


@pytest.mark.parametrize(("mode", "kind"), [("delivered", "delivered"), ("early", "delivered"),
                                            ("undelivered", "undelivered")])  # fmt: skip
def test_a_receipt_becomes_a_delivered_or_undelivered_event_of_the_code(
    smsc: Smsc, mode: str, kind: str
) -> None:
    smsc.set(receipts=mode)
    kept, tally = KeptEvents(), Telemetry.create(processes=False)
    harness = Harness()

    async def body(provider: SmppSmsProvider, receipts: DeliveryReceipts) -> list[OtpEvent]:
        events = LifecycleEvents(
            kept, harness.adapters.pseudonyms(), harness.clock, harness.adapters.chance(),
            tally=tally, reports=receipts,
        )  # fmt: skip
        message_id = await provider.deliver(note("Your code is 123456", reference="otp-1"))
        sent = DeliveryResult(delivered=True, provider="smpp", provider_message_id=message_id)
        await events.record(
            Happened(
                operation="generate",
                outcome=Outcome(
                    status=Status.SENT, delivery=sent, otp_id="otp-1", template="otp-sms"
                ),
                client_id="c1",
                channel="sms",
                template="otp-sms",
                process_instance_id=5,
            )  # fmt: skip
        )
        await ended(receipts)
        await events.drain()
        return list(kept.events)

    try:
        found, _, _ = with_provider(smsc, body)
    finally:
        harness.close()
    assert [e.type.value for e in found] == ["issued", "accepted", kind]
    last = found[-1]
    assert (last.channel, last.template, last.process_instance_id) == ("SMS", "otp-sms", 5)
    assert last.provider == "smpp" and last.client == found[0].client != "c1"
    assert (last.provider_error or "").startswith("UNDELIV") == (kind == "undelivered")
    counted = tally.registry.get_sample_value(
        "otp_codes_total", {"channel": "SMS", "template": "otp-sms", "event": kind}
    )
    assert counted == 1.0


@pytest.mark.sms_provider
def test_an_sms_the_smsc_reports_undelivered_is_resent_once_through_the_next_provider(
    smsc: Smsc, sms_providers: SmsProviders
) -> None:
    smsc.set(receipts="undelivered")
    registry = CollectorRegistry()
    receipts = DeliveryReceipts(registry)
    text = "Your code is 123456"

    async def run() -> DeliveryResult:
        async with smpp_provider(smsc.config(), receipts) as smpp, httpx.AsyncClient() as client:
            chain: list[Provider] = [smpp, sms_providers.twilio_provider(client, receipts)]
            channel = ResendingChannel(
                chain, RetryPolicy(attempts=1), receipts, within_seconds=30, registry=registry
            )
            result = await channel.send(note(text))
            deadline = asyncio.get_running_loop().time() + 5
            while not sms_providers.twilio and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # a second resend would come by now
            await channel.close()
            return result

    result = asyncio.run(run())
    assert result.provider == "smpp"
    assert [s["shortMessage"] for s in smsc.received()] == [encoded(text)[1]]
    (resent,) = sms_providers.twilio
    assert resent["Body"] == text  # the same code: the first SMS, arriving late, still works
    labels = {"provider": "smpp", "reason": "undelivered", "outcome": "sent"}
    assert registry.get_sample_value("otp_sms_resends_total", labels) == 1
