"""Which channel carries a notification: the channel of its recipient, or the Kafka forward."""

from __future__ import annotations

import time
from collections.abc import Mapping

from opentelemetry.trace import SpanKind, Status, StatusCode

from adapters.telemetry import Telemetry
from application.ports import MessageCheck, NotificationChannel
from domain.channel import Channel
from domain.errors import DeliveryFailed, UnsupportedChannel
from domain.notification import DeliveryResult, Notification


class ChannelRouter:
    """The one delivery collaborator of the use cases. Each channel behind it is already the
    configured chain (failover between providers, retries); its check (the SMS length) is
    asked in ``prepare``, before the use case counts or stores anything."""

    def __init__(
        self,
        channels: Mapping[Channel, NotificationChannel],
        forward: NotificationChannel | None = None,
        telemetry: Telemetry | None = None,
        checks: Mapping[Channel, MessageCheck] | None = None,
    ) -> None:
        self._channels = channels
        self._checks = checks or {}
        self._telemetry = telemetry or Telemetry.create(processes=False)
        # Where templates flagged "forward on Kafka" go instead of their channel.
        self._forward = forward

    def prepare(self, notification: Notification, *, forward: bool) -> int:
        channel = notification.recipient.channel
        self._route(channel, forward)
        check = None if forward else self._checks.get(channel)
        return 1 if check is None else check.cost(notification)

    async def send(self, notification: Notification, *, forward: bool) -> DeliveryResult:
        channel = "KAFKA" if forward else notification.recipient.channel.value
        adapter = self._route(notification.recipient.channel, forward)
        telemetry = self._telemetry
        with telemetry.span(
            "otp.deliver", kind=SpanKind.CLIENT, attributes={"otp.channel": channel}
        ) as span:
            started = time.perf_counter()
            try:
                result = await adapter.send(notification)
            except BaseException:
                telemetry.deliveries.labels(channel, "none", "error").inc()
                raise
            elapsed = time.perf_counter() - started
            outcome = "delivered" if result.delivered else "failed"
            span.set_attribute("otp.provider", result.provider)
            span.set_attribute("otp.delivery.attempts", result.attempts)
            if not result.delivered:
                span.set_status(Status(StatusCode.ERROR, "not delivered"))
        telemetry.deliveries.labels(channel, result.provider, outcome).inc()
        telemetry.delivery_seconds.labels(channel, result.provider).observe(elapsed)
        return result

    def _route(self, channel: Channel, forward: bool) -> NotificationChannel:
        if forward:
            if self._forward is None:
                raise DeliveryFailed(
                    "The template is to be forwarded on Kafka, but no Kafka is configured."
                )
            return self._forward
        adapter = self._channels.get(channel)
        if adapter is None:
            raise UnsupportedChannel(f"Channel {channel.value} is not configured.")
        return adapter
