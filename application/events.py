"""Lifecycle events: what happened to a code, for a bank's own monitoring and fraud systems.

Issued, delivered, delivery failed, validated, mismatch, expired, locked, rate limited. An event
names the client only by its keyed pseudonym and never carries the code. Events are best effort
and at least once: a failure to publish one is logged and never fails the request, and a request
handled again (a Kafka redelivery) publishes its events again with the same ids.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs
import structlog

from application.outcomes import Outcome, Status
from application.ports import Chance, Clock, Pseudonyms
from domain.errors import OtpAttemptsExceeded, OtpExpired, OtpLocked, OtpMismatch, RateLimited

log = structlog.get_logger(__name__)


class EventType(enum.StrEnum):
    ISSUED = "issued"
    DELIVERED = "delivered"
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
            return (EventType.ISSUED, EventType.DELIVERED)
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


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[OtpEvent]) -> None:
        """Hands the events to the bus; raises when it did not take them."""
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
    def __init__(
        self, publisher: EventPublisher, pseudonyms: Pseudonyms, clock: Clock, chance: Chance
    ) -> None:
        self._publisher = publisher
        self._pseudonyms = pseudonyms
        self._clock = clock
        self._chance = chance

    def events_of(self, happened: Happened) -> list[OtpEvent]:
        types = _types(happened.operation, happened.outcome)
        error = happened.outcome.error
        if not types or happened.client_id is None:
            return []
        now = self._clock.now()
        client = self._pseudonyms.of(happened.client_id)
        return [
            OtpEvent(
                id=_event_id(happened.request_id, kind, self._chance),
                type=kind,
                time=now,
                client=client,
                channel=happened.channel.upper() if happened.channel else None,
                template=happened.template if happened.operation == "generate" else None,
                process_instance_id=happened.process_instance_id,
                error_code=error.code if error is not None else None,
            )
            for kind in types
        ]

    async def record(self, happened: Happened) -> None:
        events = self.events_of(happened)
        if not events:
            return
        try:
            await self._publisher.publish(events)
        except Exception as exc:  # noqa: BLE001 - an event must never fail the request
            log.warning("events.not_published", count=len(events), error=type(exc).__name__)


def _event_id(request_id: str | None, kind: EventType, chance: Chance) -> str:
    """Stable for a request handled twice (consumers can drop the repeat), random otherwise."""
    if request_id is None:
        return str(uuid.UUID(hex=chance.identifier(), version=4))
    digest = hashlib.sha256(f"{request_id}\x00{kind.value}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
