"""Resend on non-delivery: once, the same text, through the providers after the one that did not
deliver; never for a delivered message, one whose provider does not report, or too late."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs
from prometheus_client import CollectorRegistry

from adapters.channels.failover import RetryPolicy, TransientDeliveryError
from adapters.channels.receipts import DeliveryReceipts, Receipt
from adapters.channels.resend import ResendingChannel
from domain.channel import Channel
from domain.notification import Notification
from domain.recipient import Recipient
from domain.template import RenderedMessage

FAST = RetryPolicy(attempts=1, wait_initial=0.0, wait_max=0.0)


@attrs.define
class ReportingProvider:
    """Takes every message, gives it an id and registers it with the receipts."""

    name: str
    receipts: DeliveryReceipts
    reports: bool = True
    down: bool = False
    texts: list[str] = attrs.Factory(list)

    async def deliver(self, notification: Notification) -> str:
        if self.down:
            raise TransientDeliveryError(f"{self.name} down")
        self.texts.append(notification.message.text)
        message_id = f"{self.name}-{len(self.texts)}"
        if self.reports:
            self.receipts.submitted(self.name, [message_id], notification.reference)
        return message_id


def note(reference: str = "otp-1") -> Notification:
    return Notification(
        reference=reference,
        recipient=Recipient(Channel.SMS, "+40722123456"),
        template_name="otp-sms",
        language="en",
        message=RenderedMessage(text="Your code is 123456"),
    )


def scenario(
    body: Callable[[ResendingChannel, list[ReportingProvider], DeliveryReceipts], Awaitable[None]],
    *,
    after: float | None = None,
    within: float = 60.0,
    first_reports: bool = True,
) -> tuple[list[ReportingProvider], CollectorRegistry]:
    registry = CollectorRegistry()
    receipts = DeliveryReceipts(registry)
    chain = [
        ReportingProvider("smpp", receipts, reports=first_reports),
        ReportingProvider("twilio", receipts),
    ]

    async def run() -> None:
        channel = ResendingChannel(
            chain, FAST, receipts, within_seconds=within, after_seconds=after, registry=registry
        )
        await body(channel, chain, receipts)
        await channel.close()

    asyncio.run(run())
    return chain, registry


def resends(
    registry: CollectorRegistry, reason: str, outcome: str, provider: str = "smpp"
) -> float:
    labels = {"provider": provider, "reason": reason, "outcome": outcome}
    return registry.get_sample_value("otp_sms_resends_total", labels) or 0.0


def test_an_undelivered_sms_is_sent_once_more_through_the_next_provider() -> None:
    async def body(
        channel: ResendingChannel, chain: list[ReportingProvider], receipts: DeliveryReceipts
    ) -> None:
        result = await channel.send(note())
        assert (result.delivered, result.provider) == (True, "smpp")
        receipts.receipt("smpp", Receipt(message_id="smpp-1", state="UNDELIV", error="001"))
        await asyncio.sleep(0.01)
        # The resent one is undelivered too: no third SMS.
        receipts.receipt("twilio", Receipt(message_id="twilio-1", state="undelivered"))
        await asyncio.sleep(0.01)

    (first, second), registry = scenario(body)
    assert first.texts == second.texts == ["Your code is 123456"]
    assert resends(registry, "undelivered", "sent") == 1


def test_no_report_within_the_wait_is_resent_and_a_late_report_changes_nothing() -> None:
    async def body(
        channel: ResendingChannel, chain: list[ReportingProvider], receipts: DeliveryReceipts
    ) -> None:
        await channel.send(note())
        await asyncio.sleep(0.15)
        receipts.receipt("smpp", Receipt(message_id="smpp-1", state="UNDELIV"))
        await asyncio.sleep(0.01)

    (first, second), registry = scenario(body, after=0.05)
    assert len(first.texts) == len(second.texts) == 1
    assert resends(registry, "no_receipt", "sent") == 1
    assert resends(registry, "undelivered", "sent") == 0


def test_a_delivered_sms_is_not_resent_even_after_the_wait() -> None:
    async def body(
        channel: ResendingChannel, chain: list[ReportingProvider], receipts: DeliveryReceipts
    ) -> None:
        await channel.send(note())
        receipts.receipt("smpp", Receipt(message_id="smpp-1", state="DELIVRD"))
        await asyncio.sleep(0.1)

    (first, second), _ = scenario(body, after=0.05)
    assert (len(first.texts), second.texts) == (1, [])


def test_a_provider_that_does_not_report_is_not_watched() -> None:
    async def body(
        channel: ResendingChannel, chain: list[ReportingProvider], receipts: DeliveryReceipts
    ) -> None:
        await channel.send(note())
        await asyncio.sleep(0.1)

    (first, second), registry = scenario(body, after=0.05, first_reports=False)
    assert (len(first.texts), second.texts) == (1, [])
    assert resends(registry, "no_receipt", "sent") == 0


def test_an_undelivered_report_past_the_resend_window_is_not_resent() -> None:
    async def body(
        channel: ResendingChannel, chain: list[ReportingProvider], receipts: DeliveryReceipts
    ) -> None:
        await channel.send(note())
        await asyncio.sleep(0.06)
        receipts.receipt("smpp", Receipt(message_id="smpp-1", state="UNDELIV"))
        await asyncio.sleep(0.01)

    (_, second), _ = scenario(body, within=0.05)
    assert second.texts == []


def test_the_last_provider_of_the_chain_has_none_to_resend_through() -> None:
    async def body(
        channel: ResendingChannel, chain: list[ReportingProvider], receipts: DeliveryReceipts
    ) -> None:
        chain[0].down = True  # the message goes to the backup, the last provider
        result = await channel.send(note())
        assert result.provider == "twilio"
        receipts.receipt("twilio", Receipt(message_id="twilio-1", state="failed"))
        await asyncio.sleep(0.01)

    (first, second), registry = scenario(body)
    assert (first.texts, len(second.texts)) == ([], 1)
    assert resends(registry, "undelivered", "none", provider="twilio") == 1
