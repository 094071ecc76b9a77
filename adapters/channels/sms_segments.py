"""How many SMS segments a text takes: GSM-7 when every character fits it, else UCS-2."""

from __future__ import annotations

import math

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

from domain.errors import DeliveryFailed
from domain.notification import Notification

GSM7, UCS2 = 0x00, 0x08  # SMPP's data codings of the two alphabets
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def encoded(text: str) -> tuple[int, bytes]:
    """GSM 7-bit, one byte a septet, when every character fits the alphabet (extension
    characters such as €, [ and ] take two, as on the air); else UCS-2 (UTF-16 big-endian)."""
    try:
        return GSM7, text.encode("gsm03.38")
    except UnicodeEncodeError:
        return UCS2, text.encode("utf-16-be")


def segments(text: str) -> int:
    coding, data = encoded(text)
    if coding == GSM7:
        units, single, part = len(data), GSM7_SINGLE, GSM7_PART
    else:
        units, single, part = len(data) // 2, UCS2_SINGLE, UCS2_PART
    return 1 if units <= single else math.ceil(units / part)


class SmsLengthCheck:
    """Refuses, before anything is counted or stored, an SMS longer than ``max_segments``; an
    SMS costs its parts (what operators bill)."""

    def __init__(self, max_segments: int) -> None:
        self._max = max_segments

    def cost(self, notification: Notification) -> int:
        needed = segments(notification.message.text)
        if needed > self._max:
            raise DeliveryFailed(
                f"The code could not be delivered: the SMS would take {needed} segments and "
                f"at most {self._max} are allowed; shorten the template or its parameters."
            )
        return needed

    def describe(self, notification: Notification) -> dict[str, object]:
        text = notification.message.text
        coding, _ = encoded(text)
        return {
            "encoding": "GSM-7" if coding == GSM7 else "UCS-2",
            "parts": segments(text),
            "maxParts": self._max,
            "characters": len(text),
        }
