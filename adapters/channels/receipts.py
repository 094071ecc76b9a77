"""What happened to a message after a provider took it: delivery receipts, matched to the
message ids the provider answered with.

A receipt may come before the submit's response (it is then kept until the id is known, for
``early_seconds``), twice (the second is counted and ignored), for a part of a longer message
(the message is delivered when every part is, undelivered when one is not), or for an id this
process never sent (counted, kept for ``early_seconds``, then dropped). Receipts name message
ids only: never the code, never the recipient.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram

from domain.notification import DeliveryReport

log = structlog.get_logger(__name__)

DELIVERED, UNDELIVERED = "delivered", "undelivered"
# The SMSC's words (SMPP receipts) and the HTTP providers' (status callbacks).
FINAL = {"DELIVRD": DELIVERED, "UNDELIV": UNDELIVERED, "EXPIRED": UNDELIVERED,
         "DELETED": UNDELIVERED, "REJECTD": UNDELIVERED,
         "delivered": DELIVERED, "undelivered": UNDELIVERED, "failed": UNDELIVERED}  # fmt: skip
RECEIPT_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


@attrs.frozen(kw_only=True)
class Receipt:
    message_id: str
    state: str  # the SMSC's word: DELIVRD, UNDELIV, EXPIRED, ...
    error: str = ""


@attrs.define
class _Message:
    provider: str
    reference: str
    sent_at: float
    waiting: set[str]
    error: str = ""
    failed: bool = False


def _aliases(message_id: str) -> tuple[str, ...]:
    """SMSCs differ on the form of an id in a receipt: the same number in hex or decimal."""
    forms = [message_id]
    if message_id.isdigit():
        forms.append(format(int(message_id), "x"))
    try:
        forms.append(str(int(message_id, 16)))
    except ValueError:
        pass
    return tuple(dict.fromkeys(forms))


class DeliveryReceipts:
    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        early_seconds: float = 30.0,
        keep_seconds: float = 3600.0,
        limit: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._early_seconds = early_seconds
        self._keep_seconds = keep_seconds
        self._limit = limit
        self._clock = clock
        self._parts: OrderedDict[str, _Message] = OrderedDict()
        self._early: OrderedDict[str, tuple[Receipt, float, str]] = OrderedDict()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.outcomes: list[DeliveryReport] = []  # the latest, bounded; read by tests and the bench
        self._listeners: list[Callable[[DeliveryReport], None]] = []
        self._receipts, self._latency = _metrics(registry or CollectorRegistry())

    def listen(self, listener: Callable[[DeliveryReport], None]) -> None:
        """``listener`` is called with each message's final report (lifecycle events)."""
        self._listeners.append(listener)

    def submitted(self, provider: str, message_ids: list[str], reference: str) -> None:
        """The provider took a message as these parts; receipts that came first are applied."""
        now = self._clock()
        message = _Message(provider, reference, now, set(message_ids))
        for message_id in message_ids:
            self._parts[message_id] = message
        self._trim(now)
        for message_id in message_ids:
            for form in _aliases(message_id):
                early = self._early.pop(form, None)
                if early is not None:
                    self._receipts.labels(provider, "early").inc()
                    self._apply(message_id, message, early[0])

    def receipt(self, provider: str, receipt: Receipt) -> None:
        now = self._clock()
        outcome = FINAL.get(receipt.state)
        if outcome is None:
            return  # ENROUTE, ACCEPTD, UNKNOWN: not an end yet
        for form in _aliases(receipt.message_id):
            message = self._parts.get(form)
            if message is not None:
                self._apply(form, message, receipt)
                return
        if receipt.message_id in self._seen:
            self._receipts.labels(provider, "duplicate").inc()
            return
        self._early[receipt.message_id] = (receipt, now, provider)
        self._trim(now)

    def _apply(self, message_id: str, message: _Message, receipt: Receipt) -> None:
        self._parts.pop(message_id, None)
        self._remember(message_id)
        message.waiting.discard(message_id)
        if FINAL[receipt.state] == UNDELIVERED and not message.failed:
            message.failed, message.error = True, f"{receipt.state} {receipt.error}".strip()
        if message.waiting and not message.failed:
            return
        if message.failed:
            # One part undelivered is the message undelivered; the other parts' receipts
            # then find no message and count as duplicates.
            for rest in message.waiting:
                self._parts.pop(rest, None)
                self._remember(rest)
            message.waiting.clear()
        self._end(message)

    def _end(self, message: _Message) -> None:
        seconds = max(0.0, self._clock() - message.sent_at)
        kind = UNDELIVERED if message.failed else DELIVERED
        self._receipts.labels(message.provider, kind).inc()
        self._latency.labels(message.provider).observe(seconds)
        outcome = DeliveryReport(
            reference=message.reference,
            provider=message.provider,
            delivered=not message.failed,
            error=message.error,
            seconds=seconds,
        )
        self.outcomes.append(outcome)
        del self.outcomes[:-1000]
        log.info(
            f"sms.{kind}",
            provider=message.provider,
            reference=message.reference,
            error=message.error or None,
            seconds=round(seconds, 3),
        )
        for listener in self._listeners:
            try:
                listener(outcome)
            except Exception:  # noqa: BLE001 - a listener must never stop the receipts
                log.exception("sms.receipt_listener_failed", provider=message.provider)

    def _remember(self, message_id: str) -> None:
        for form in _aliases(message_id):
            self._seen[form] = None
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)

    def _trim(self, now: float) -> None:
        """Receipts never matched and messages never receipted do not stay for ever."""
        while self._early:
            _, arrived, provider = next(iter(self._early.values()))
            if now - arrived < self._early_seconds and len(self._early) <= self._limit:
                break
            self._early.popitem(last=False)
            self._receipts.labels(provider, "unknown").inc()
        while self._parts:
            _, message = next(iter(self._parts.items()))
            if now - message.sent_at < self._keep_seconds and len(self._parts) <= self._limit:
                break
            self._parts.popitem(last=False)

    def unmatched(self) -> int:
        """Receipts waiting for an id this process has not (yet) been given."""
        return len(self._early)


# One set of each kind of metrics per registry (several containers of a test may share one).
_METRICS: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, Any]] = weakref.WeakKeyDictionary()
_M = TypeVar("_M")


def registered(registry: CollectorRegistry, make: Callable[[CollectorRegistry], _M]) -> _M:
    """The metrics ``make`` registers, made once per registry."""
    known = _METRICS.setdefault(registry, {})
    key = f"{make.__module__}.{make.__qualname__}"
    if key not in known:
        known[key] = make(registry)
    made: _M = known[key]
    return made


def _metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    return registered(registry, _receipt_metrics)


def _receipt_metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    receipts = Counter(
        "otp_sms_receipts",
        "Delivery receipts by provider and what they said (delivered, undelivered) or "
        "were (duplicate, unknown: an id this process did not send, early: before the "
        "submit's response)",
        ["provider", "kind"],
        registry=registry,
    )
    latency = Histogram(
        "otp_sms_receipt_seconds",
        "Time from a message's submit to its final receipt, by provider",
        ["provider"],
        buckets=RECEIPT_BUCKETS,
        registry=registry,
    )
    return receipts, latency
