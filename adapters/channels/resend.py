"""Resend on non-delivery: an SMS whose provider reports it undelivered (or reports nothing
within a while) is sent once more, with the same text and so the same code, through the
providers after it in the chain.

The code stays the one live code of its (clientId, channel): the first SMS, should it arrive
late, holds the same code. The engine got its reply when the first provider took the message,
and gets none for the resend. The text, which holds the code, is kept in this process's memory
only while a resend may follow (``within_seconds``), never stored or logged.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import attrs
import structlog
from prometheus_client import CollectorRegistry, Counter

from adapters.channels.failover import FailoverChannel, Provider, RetryPolicy
from adapters.channels.receipts import DeliveryReceipts, registered
from domain.notification import DeliveryReport, DeliveryResult, Notification

log = structlog.get_logger(__name__)


@attrs.define
class _Waiting:
    notification: Notification
    provider: str
    sent_at: float
    timer: asyncio.TimerHandle | None = None


class ResendingChannel:
    """A ``NotificationChannel`` over a failover chain that watches what it sent for a report:
    undelivered, or no report within ``after_seconds`` (None: only an undelivered report),
    sends once more through the providers after the one that took it. Only messages of
    providers that report (``reports`` true: SMPP receipts, status callbacks) are watched."""

    def __init__(
        self,
        providers: Sequence[Provider],
        retry: RetryPolicy,
        receipts: DeliveryReceipts,
        *,
        within_seconds: float,
        after_seconds: float | None = None,
        registry: CollectorRegistry | None = None,
        limit: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chain = FailoverChannel(providers, retry)
        # What each provider's messages are resent through, for the providers that report
        # (None: it is the last of the chain); a message of another provider is not watched.
        self._next: dict[str, FailoverChannel | None] = {
            p.name: FailoverChannel(providers[i + 1 :], retry) if providers[i + 1 :] else None
            for i, p in enumerate(providers)
            if getattr(p, "reports", False)
        }
        self._within = within_seconds
        self._after = after_seconds
        self._limit = limit
        self._clock = clock
        self._waiting: OrderedDict[str, _Waiting] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._resends = registered(registry or CollectorRegistry(), _resend_metric)
        receipts.listen(self._reported)

    async def send(self, notification: Notification) -> DeliveryResult:
        result = await self._chain.send(notification)
        if result.delivered and result.provider in self._next:
            self._watch(notification, result.provider)
        return result

    def _watch(self, notification: Notification, provider: str) -> None:
        now = self._clock()
        waiting = _Waiting(notification, provider, now)
        if self._after is not None:
            loop = asyncio.get_running_loop()
            waiting.timer = loop.call_later(
                self._after, self._resend, notification.reference, "no_receipt"
            )
        self._waiting[notification.reference] = waiting
        while self._waiting:
            oldest = next(iter(self._waiting.values()))
            if len(self._waiting) <= self._limit and now - oldest.sent_at <= self._within:
                break
            self._forget(next(iter(self._waiting)))

    def _forget(self, reference: str) -> _Waiting | None:
        waiting = self._waiting.pop(reference, None)
        if waiting is not None and waiting.timer is not None:
            waiting.timer.cancel()
        return waiting

    def _reported(self, report: DeliveryReport) -> None:
        if report.delivered:
            self._forget(report.reference)
        elif report.reference in self._waiting:
            self._resend(report.reference, "undelivered")

    def _resend(self, reference: str, reason: str) -> None:
        waiting = self._forget(reference)
        if waiting is None or self._clock() - waiting.sent_at > self._within:
            return
        task = asyncio.get_running_loop().create_task(self._send_again(waiting, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_again(self, waiting: _Waiting, reason: str) -> None:
        rest = self._next[waiting.provider]
        reference = waiting.notification.reference
        if rest is None:
            self._resends.labels(waiting.provider, reason, "none").inc()
            log.info("sms.not_resent", provider=waiting.provider, reason=reason,
                     reference=reference)  # fmt: skip
            return
        result = await rest.send(waiting.notification)
        outcome = "sent" if result.delivered else "failed"
        self._resends.labels(waiting.provider, reason, outcome).inc()
        log.info(
            "sms.resent" if result.delivered else "sms.resend_failed",
            provider=waiting.provider,
            reason=reason,
            reference=reference,
            through=result.provider,
        )

    async def close(self) -> None:
        """Stops the timers and waits for the resends under way."""
        for reference in list(self._waiting):
            self._forget(reference)
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _resend_metric(registry: CollectorRegistry) -> Counter:
    return Counter(
        "otp_sms_resends",
        "SMS sent once more after no delivery, by the provider that did not deliver, why "
        "(undelivered, no_receipt) and what the resend did (sent, failed, none: no provider "
        "after it)",
        ["provider", "reason", "outcome"],
        registry=registry,
    )
