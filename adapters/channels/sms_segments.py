"""How many SMS segments a text takes: GSM-7 when every character fits it, else UCS-2."""

from __future__ import annotations

import math

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

from application.ports import NotificationChannel
from domain.notification import DeliveryResult, Notification

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def segments(text: str) -> int:
    try:
        # Extension characters (€, [, ], …) encode as two septets, as on the air.
        units, single, part = len(text.encode("gsm03.38")), GSM7_SINGLE, GSM7_PART
    except UnicodeEncodeError:
        units, single, part = len(text.encode("utf-16-le")) // 2, UCS2_SINGLE, UCS2_PART
    return 1 if units <= single else math.ceil(units / part)


class SegmentLimitedChannel:
    """Refuses, before anything is sent, an SMS longer than ``max_segments``."""

    def __init__(self, inner: NotificationChannel, max_segments: int) -> None:
        self._inner = inner
        self._max = max_segments

    async def send(self, notification: Notification) -> DeliveryResult:
        needed = segments(notification.message.text)
        if needed > self._max:
            return DeliveryResult(
                delivered=False,
                provider="sms",
                attempts=0,
                reason=f"the SMS would take {needed} segments and at most {self._max} are "
                "allowed; shorten the template or its parameters",
            )
        return await self._inner.send(notification)
