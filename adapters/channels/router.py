"""Which channel carries a notification: the channel of its recipient, or the Kafka forward."""

from __future__ import annotations

from collections.abc import Mapping

from application.ports import NotificationChannel
from domain.channel import Channel
from domain.errors import DeliveryFailed, UnsupportedChannel
from domain.notification import DeliveryResult, Notification


class ChannelRouter:
    """The one delivery collaborator of the use cases. Each channel behind it is already the
    configured chain (failover between providers, retries, the SMS length limit)."""

    def __init__(
        self,
        channels: Mapping[Channel, NotificationChannel],
        forward: NotificationChannel | None = None,
    ) -> None:
        self._channels = channels
        # Where templates flagged "forward on Kafka" go instead of their channel.
        self._forward = forward

    def check(self, channel: Channel, *, forward: bool) -> None:
        self._route(channel, forward)

    async def send(self, notification: Notification, *, forward: bool) -> DeliveryResult:
        return await self._route(notification.recipient.channel, forward).send(notification)

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
