"""Lifecycle events: what happened to a code, for a bank's own monitoring and fraud systems.

Issued, accepted (a provider took it), delivered or undelivered (the provider's later report:
an SMSC's delivery receipt, a status callback), delivery failed, validated, mismatch, expired,
locked, rate limited. Every event is also counted (``CodeTally``), by channel and template, so
the share of delivered codes that are validated can be watched. An event
names the client only by its keyed pseudonym and never carries the code. Events are best effort
and at least once: a failure to publish one is logged and never fails the request, and a request
handled again (a Kafka redelivery) publishes its events again with the same ids.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

import attrs
import structlog

from application.outcomes import Outcome, Status
from application.ports import Chance, Clock, Pseudonyms
from domain.errors import OtpAttemptsExceeded, OtpExpired, OtpLocked, OtpMismatch, RateLimited
from domain.notification import DeliveryReport

log = structlog.get_logger(__name__)

_T = TypeVar("_T")


class EventType(enum.StrEnum):
    ISSUED = "issued"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    DELIVERY_FAILED = "delivery_failed"
    VALIDATED = "validated"
    MISMATCH = "mismatch"
    EXPIRED = "expired"
    LOCKED = "locked"
    RATE_LIMITED = "rate_limited"


def _types(operation: str, outcome: Outcome) -> tuple[EventType, ...]:
    """What an outcome tells of a code's life; other outcomes (bad input, unknown templates,
    stores down) are not events of it."""
    error = outcome.error
    if isinstance(error, RateLimited):
        return (EventType.RATE_LIMITED,)
    if isinstance(error, OtpLocked):
        return (EventType.LOCKED,)
    if operation == "generate":
        if outcome.status is Status.SENT:
            return (EventType.ISSUED, EventType.ACCEPTED)
        if outcome.status is Status.NOT_DELIVERED:
            # Without a delivery, the channel refused the message before a code was issued.
            issued = (EventType.ISSUED,) if outcome.delivery is not None else ()
            return (*issued, EventType.DELIVERY_FAILED)
        return ()
    if outcome.status is Status.VALID:
        return (EventType.VALIDATED,)
    if isinstance(error, OtpMismatch | OtpAttemptsExceeded):
        return (EventType.MISMATCH,)
    if isinstance(error, OtpExpired):
        return (EventType.EXPIRED,)
    return ()


@attrs.frozen(kw_only=True)
class OtpEvent:
    id: str
    type: EventType
    time: datetime
    # The clientId's keyed pseudonym: the same client always has the same one.
    client: str
    channel: str | None
    template: str | None
    process_instance_id: object
    error_code: str | None
    # Accepted, delivered, undelivered: the provider, and for undelivered its error.
    provider: str | None = None
    provider_error: str | None = None
    # The template's language and published version the code was sent with.
    template_language: str | None = None
    template_version: int | None = None


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[OtpEvent]) -> None:
        """Hands the events to the bus; raises when it did not take them."""
        ...


class CodeTally(Protocol):
    def count(self, event: OtpEvent) -> None:
        """Counts the event by its type, channel and template (a metric, never the client)."""
        ...


class DeliveryReports(Protocol):
    def listen(self, listener: Callable[[DeliveryReport], None]) -> None:
        """Calls ``listener`` with each message's final report, in the event loop."""
        ...


@attrs.frozen(kw_only=True)
class Happened:
    """One answered request: what the use case answered, and what the entrypoint read."""

    operation: str
    outcome: Outcome
    client_id: str | None
    channel: str | None
    template: str | None
    process_instance_id: object
    request_id: str | None = None


class LifecycleEvents:
    """Turns answered requests and the providers' later reports into events.

    A report names the code by its id; the code's client, channel and template are kept, in
    this process, from the generate's ``accepted`` until the report (or until ``keep`` newer
    codes pushed it out). A report that comes first waits for the generate's answer.
    """

    def __init__(
        self,
        publisher: EventPublisher | None,
        pseudonyms: Pseudonyms,
        clock: Clock,
        chance: Chance,
        tally: CodeTally | None = None,
        reports: DeliveryReports | None = None,
        keep: int = 100_000,
    ) -> None:
        self._publisher = publisher
        self._pseudonyms = pseudonyms
        self._clock = clock
        self._chance = chance
        self._tally = tally
        self._keep = keep
        # A code's accepted event (and its request's id), until the provider's report.
        self._sent: OrderedDict[str, tuple[OtpEvent, str | None]] = OrderedDict()
        self._early: OrderedDict[str, DeliveryReport] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        if reports is not None:
            reports.listen(self.reported)

    def events_of(self, happened: Happened) -> list[OtpEvent]:
        types = _types(happened.operation, happened.outcome)
        outcome = happened.outcome
        error = outcome.error
        if not types or happened.client_id is None:
            return []
        now = self._clock.now()
        client = self._pseudonyms.of(happened.client_id)
        template = outcome.template or (
            happened.template if happened.operation == "generate" else None
        )
        provider = outcome.delivery.provider if outcome.delivery is not None else None
        return [
            OtpEvent(
                id=_event_id(happened.request_id, kind, self._chance),
                type=kind,
                time=now,
                client=client,
                channel=happened.channel.upper() if happened.channel else None,
                template=template,
                process_instance_id=happened.process_instance_id,
                error_code=error.code if error is not None else None,
                provider=provider if kind is EventType.ACCEPTED else None,
                template_language=outcome.template_language,
                template_version=outcome.template_version,
            )
            for kind in types
        ]

    async def record(self, happened: Happened) -> None:
        events = self.events_of(happened)
        accepted = next((e for e in events if e.type is EventType.ACCEPTED), None)
        otp_id = happened.outcome.otp_id
        if accepted is not None and otp_id is not None:
            self._expect(otp_id, accepted, happened.request_id)
        await self._publish(events)

    def reported(self, report: DeliveryReport) -> None:
        """A provider's final word on a message: a delivered or undelivered event, published
        in the background (a report never waits for the bus)."""
        # Undelivered, a code may still be delivered by a resend: its accepted event is kept.
        sent = self._sent.pop(report.reference, None)
        if sent is not None and not report.delivered:
            self._sent[report.reference] = sent
        if sent is None:
            self._early[report.reference] = report
            _bound(self._early, self._keep)
            return
        accepted, request_id = sent
        kind = EventType.DELIVERED if report.delivered else EventType.UNDELIVERED
        event = attrs.evolve(
            accepted,
            id=_event_id(request_id, kind, self._chance),
            type=kind,
            time=self._clock.now(),
            error_code=None if report.delivered else "UNDELIVERED",
            provider=report.provider,
            provider_error=report.error or None,
        )
        task = asyncio.get_running_loop().create_task(self._publish([event]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _expect(self, otp_id: str, accepted: OtpEvent, request_id: str | None) -> None:
        self._sent[otp_id] = (accepted, request_id)
        _bound(self._sent, self._keep)
        early = self._early.pop(otp_id, None)
        if early is not None:
            self.reported(early)

    async def _publish(self, events: Sequence[OtpEvent]) -> None:
        if not events:
            return
        if self._tally is not None:
            for event in events:
                self._tally.count(event)
        if self._publisher is None:
            return
        try:
            await self._publisher.publish(events)
        except Exception as exc:  # noqa: BLE001 - an event must never fail the request
            log.warning("events.not_published", count=len(events), error=type(exc).__name__)

    async def drain(self) -> None:
        """Waits for the reports' events still being published (tests read them after)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _bound(kept: OrderedDict[str, _T], keep: int) -> None:
    while len(kept) > keep:
        kept.popitem(last=False)


def _event_id(request_id: str | None, kind: EventType, chance: Chance) -> str:
    """Stable for a request handled twice (consumers can drop the repeat), random otherwise."""
    if request_id is None:
        return str(uuid.UUID(hex=chance.identifier(), version=4))
    digest = hashlib.sha256(f"{request_id}\x00{kind.value}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
