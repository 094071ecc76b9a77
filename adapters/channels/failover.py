"""Delivery through an ordered list of providers, retrying what may pass and no more.

Transient failures (connection refused, timeout, SMTP 4xx, HTTP 429 and 5xx) are retried with
bounded exponential backoff and jitter, then the next provider is tried. Permanent failures
(SMTP 5xx, HTTP 4xx) stop at once: another try or provider would most likely be refused too,
and a provider that did take the message must never be asked twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs
import stamina
import structlog

from domain.notification import DeliveryResult, Notification

log = structlog.get_logger(__name__)


class DeliveryError(Exception):
    """A provider did not take the message; ``reason`` is safe to show (no secrets)."""

    transient = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientDeliveryError(DeliveryError):
    transient = True


class PermanentDeliveryError(DeliveryError):
    pass


class Provider(Protocol):
    name: str

    async def deliver(self, notification: Notification) -> str | None:
        """Hands the message over; returns the provider's message id, if it gave one.

        Raises ``TransientDeliveryError`` or ``PermanentDeliveryError``."""
        ...


@attrs.frozen(kw_only=True)
class RetryPolicy:
    attempts: int = 3
    wait_initial: float = 0.5
    wait_max: float = 5.0
    timeout: float = 60.0


class FailoverChannel:
    """A ``NotificationChannel`` over providers tried in order."""

    def __init__(self, providers: Sequence[Provider], retry: RetryPolicy) -> None:
        if not providers:
            raise ValueError("a channel needs at least one provider")
        self._providers = tuple(providers)
        self._retry = retry

    async def send(self, notification: Notification) -> DeliveryResult:
        attempts = 0
        failures: list[str] = []
        for provider in self._providers:
            try:
                async for attempt in stamina.retry_context(
                    on=TransientDeliveryError,
                    attempts=self._retry.attempts,
                    timeout=self._retry.timeout,
                    wait_initial=self._retry.wait_initial,
                    wait_max=self._retry.wait_max,
                ):
                    with attempt:
                        attempts += 1
                        message_id = await provider.deliver(notification)
            except PermanentDeliveryError as refused:
                log.warning(
                    "delivery.refused",
                    provider=provider.name,
                    reference=notification.reference,
                    attempts=attempts,
                    reason=refused.reason,
                )
                return DeliveryResult(
                    delivered=False,
                    provider=provider.name,
                    attempts=attempts,
                    reason=refused.reason,
                )
            except TransientDeliveryError as failed:
                log.warning(
                    "delivery.provider_failed",
                    provider=provider.name,
                    reference=notification.reference,
                    attempts=attempts,
                    reason=failed.reason,
                )
                failures.append(f"{provider.name}: {failed.reason}")
                continue
            return DeliveryResult(
                delivered=True,
                provider=provider.name,
                attempts=attempts,
                provider_message_id=message_id,
            )
        return DeliveryResult(
            delivered=False,
            provider=self._providers[-1].name,
            attempts=attempts,
            reason="; ".join(failures),
        )
