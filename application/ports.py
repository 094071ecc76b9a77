"""The ports: what the use cases need from the outside world, as protocols."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from domain.channel import Channel
from domain.errors import OtpError
from domain.ledger import OtpLedger
from domain.notification import DeliveryResult, Notification
from domain.otp import CodeHash
from domain.recipient import Recipient
from domain.template import NotificationTemplate, RenderedMessage
from domain.template_versions import TemplateRecord


class StaleLedger(Exception):
    """Raised by ``OtpRepository.save`` when another writer saved the ledger first."""


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring a duration."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Waits ``seconds`` (a pause between tries, a response-time floor)."""
        ...


@runtime_checkable
class Chance(Protocol):
    """Randomness that guards no secret: identifiers and jitter (codes come from
    ``CodeGenerator``)."""

    def identifier(self) -> str:
        """128 random bits as 32 hex digits."""
        ...

    def fraction(self) -> float:
        """A number drawn uniformly from [0, 1)."""
        ...


@runtime_checkable
class CodeGenerator(Protocol):
    def generate(
        self, length: int, request_id: str | None = None, recipient: str | None = None
    ) -> str:
        """A string of ``length`` decimal digits no one can predict.

        Without ``request_id`` it is fresh randomness. With one, the same id always yields the
        same code (a keyed derivation), so a redelivered request re-sends the code it already
        sent and never a second, different one. ``recipient`` (the normalised address) matters
        only to the test-code mode (OTP_TEST_CODE), never to a production generator.
        """
        ...


@runtime_checkable
class CodeHasher(Protocol):
    def hash(
        self,
        code: str,
        *,
        client_id: str,
        channel: Channel,
        key_id: str | None = None,
        context: str = "",
    ) -> CodeHash:
        """Keyed hash bound to the client, the channel and the canonical ``context`` (a
        transaction the code approves); ``key_id`` None means the newest key."""
        ...


@runtime_checkable
class Pseudonyms(Protocol):
    def of(self, value: str) -> str:
        """A keyed, stable pseudonym of an identifier, for logs and counters: never the value."""
        ...


@runtime_checkable
class RecipientValidator(Protocol):
    @property
    def channels(self) -> tuple[Channel, ...]:
        """The channels this deployment delivers: those with a recipient rule."""
        ...

    def check(self, channel: Channel, address: str) -> Recipient:
        """A normalised recipient, or ``InvalidRecipient`` (``UnsupportedChannel`` for a
        channel without a rule)."""
        ...


class RecipientRule(Protocol):
    """One channel's rule for its addresses (a channel plug-in brings its own)."""

    def check(self, address: str) -> Recipient:
        """A normalised recipient of this channel, or ``InvalidRecipient``."""
        ...


@runtime_checkable
class OtpRepository(Protocol):
    async def get(self, client_id: str, channel: Channel) -> OtpLedger | None: ...

    async def save(self, ledger: OtpLedger) -> None:
        """Stores the ledger if nobody saved it since it was read, bumping its version;
        otherwise raises ``StaleLedger``."""
        ...

    async def purge(self, now: datetime) -> int:
        """Deletes the ledgers retained until before ``now``; returns how many went."""
        ...

    async def ping(self) -> None:
        """Returns when the store answers; raises ``DependencyUnavailable`` otherwise."""
        ...


@runtime_checkable
class TemplateStore(Protocol):
    async def find(self, name: str, language: str) -> NotificationTemplate | None: ...

    async def names(self) -> list[str]: ...

    async def languages(self, name: str) -> list[str]: ...


@runtime_checkable
class TemplateWriter(Protocol):
    async def upsert(self, template: NotificationTemplate) -> None:
        """Creates or replaces the template of its (name, language)."""
        ...


@runtime_checkable
class TemplateCatalog(Protocol):
    """Templates with versions (docs/templates.md): the record of each, changed only by
    compare-and-set. A catalog is a ``TemplateStore`` too: it serves each current version."""

    async def record(self, name: str) -> TemplateRecord | None: ...

    async def save(self, record: TemplateRecord, expected_revision: int) -> None:
        """Stores ``record`` if the stored one is still at ``expected_revision`` (0: there
        is none yet); raises ``TemplateConflict`` otherwise."""
        ...

    async def records(self) -> list[TemplateRecord]: ...


@runtime_checkable
class TemplateRenderer(Protocol):
    def render(
        self, template: NotificationTemplate, parameters: Mapping[str, object]
    ) -> RenderedMessage:
        """Fills the template; raises ``TemplateParameterMissing`` for an undefined name."""
        ...

    def names(self, text: str) -> frozenset[str]:
        """The parameter names a text uses; raises ``InvalidTemplate`` when it cannot parse."""
        ...


@runtime_checkable
class NotificationChannel(Protocol):
    async def send(self, notification: Notification) -> DeliveryResult: ...


@runtime_checkable
class StatusCallback(Protocol):
    """A provider telling what became of a message (a status callback): checked for its
    signature and freshness, then handed to the delivery receipts."""

    def handle(self, query: str, headers: Mapping[str, str], body: bytes) -> OtpError | None:
        """None when taken; else why not (``Unauthorized``: unsigned, forged or too old;
        ``AlreadyReceived``: a replay; ``InvalidRequest``: not a callback's body)."""
        ...


@runtime_checkable
class MessageCheck(Protocol):
    """What a channel refuses to carry, asked before anything is counted or stored."""

    def cost(self, notification: Notification) -> int:
        """What sending it spends of the channel's budget (an SMS: its parts); raises
        ``DeliveryFailed`` when the channel cannot carry it (an SMS too long)."""
        ...


@runtime_checkable
class DescribedCheck(Protocol):
    """A ``MessageCheck`` that can also say how the channel would carry a message (an SMS:
    its encoding and parts), for a template's preview."""

    def describe(self, notification: Notification) -> Mapping[str, object]: ...


@runtime_checkable
class Delivery(Protocol):
    """Gets a notification to its recipient: picks the channel (or the Kafka forward for
    templates flagged so), with the providers, failover and retries configured behind it."""

    def prepare(self, notification: Notification, *, forward: bool) -> int:
        """Before anything is counted or stored: what it costs to send (see ``MessageCheck``);
        raises ``UnsupportedChannel`` or ``DeliveryFailed`` when nothing could send it."""
        ...

    async def send(self, notification: Notification, *, forward: bool) -> DeliveryResult: ...


@runtime_checkable
class ProcessedRequests(Protocol):
    """Replies already given, by request id, so a redelivered request gets the same reply.

    A reply is live until its ``keep_until``: ``get`` sees only a live one, and ``put`` keeps
    the first live reply (a redelivery never changes what was answered) but replaces one whose
    time is over."""

    async def get(self, request_id: str, now: datetime) -> dict[str, Any] | None: ...

    async def put(
        self, request_id: str, reply: dict[str, Any], keep_until: datetime, now: datetime
    ) -> None: ...

    async def purge(self, now: datetime) -> int: ...


@runtime_checkable
class SendCounters(Protocol):
    """Counts of sends in time buckets, shared by every worker (the abuse caps)."""

    async def add(
        self, key: str, bucket: int, keep_until: datetime, amount: int = 1
    ) -> dict[int, int]:
        """Adds ``amount`` to ``key``'s ``bucket`` atomically; returns all of its buckets."""
        ...

    async def remove(self, key: str, bucket: int, amount: int = 1) -> None:
        """Takes ``amount`` back from ``key``'s ``bucket``."""
        ...

    async def purge(self, now: datetime) -> int:
        """Deletes counts kept until before ``now``."""
        ...


Headers = Sequence[tuple[str, bytes | None]]


@runtime_checkable
class MessagePublisher(Protocol):
    """The bus: publishes one record and returns once the broker has acknowledged it."""

    async def publish(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: Headers = ()
    ) -> None:
        """Raises ``DependencyUnavailable`` when the broker did not take the record."""
        ...
