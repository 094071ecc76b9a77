"""Lifecycle events as CloudEvents 1.0 in structured mode (one JSON object per record) on
KAFKA_TOPIC_OTP_EVENTS, keyed by the client's pseudonym so one client's events stay in order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from application.events import OtpEvent
from application.ports import MessagePublisher

SOURCE = "otp-service"
TYPE_PREFIX = "ai.flowx.otp."
CONTENT_TYPE = b"application/cloudevents+json; charset=utf-8"


def cloud_event(event: OtpEvent) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event.id,
        "source": SOURCE,
        "type": TYPE_PREFIX + event.type.value,
        "time": event.time.isoformat().replace("+00:00", "Z"),
        "subject": event.client,
        "datacontenttype": "application/json",
        "data": {
            "client": event.client,
            "channel": event.channel,
            "template": event.template,
            "templateLanguage": event.template_language,
            "templateVersion": event.template_version,
            "processInstanceId": event.process_instance_id,
            "errorCode": event.error_code,
            "provider": event.provider,
            "providerError": event.provider_error,
        },
    }


class KafkaEventPublisher:
    def __init__(self, publisher: MessagePublisher, topic: str) -> None:
        self._publisher = publisher
        self._topic = topic

    async def publish(self, events: Sequence[OtpEvent]) -> None:
        await asyncio.gather(
            *(
                self._publisher.publish(
                    self._topic,
                    json.dumps(cloud_event(event), ensure_ascii=False).encode(),
                    key=event.client.encode(),
                    headers=[("content-type", CONTENT_TYPE)],
                )
                for event in events
            )
        )
