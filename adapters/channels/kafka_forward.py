"""Forward on Kafka: the rendered notification goes to a topic an external sender reads."""

from __future__ import annotations

import json

from adapters.channels.failover import TransientDeliveryError
from application.ports import MessagePublisher
from domain.errors import DependencyUnavailable
from domain.notification import Notification


class KafkaForwardProvider:
    """Done once the broker acknowledged the record; the external sender delivers it."""

    name = "kafka"

    def __init__(self, publisher: MessagePublisher, topic: str) -> None:
        self._publisher = publisher
        self._topic = topic

    async def deliver(self, notification: Notification) -> str | None:
        message = notification.message
        record = {
            "reference": notification.reference,
            "channel": notification.recipient.channel.value,
            "recipient": notification.recipient.address,
            "templateName": notification.template_name,
            "language": notification.language,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
        }
        try:
            await self._publisher.publish(
                self._topic, json.dumps(record).encode(), key=notification.reference.encode()
            )
        except DependencyUnavailable as exc:
            raise TransientDeliveryError(exc.message) from None
        return notification.reference
