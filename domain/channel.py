"""The delivery channels a code can travel through, by name.

MAIL and SMS come with the service; a team may add a channel as a plug-in of its own. Which
channels a deployment delivers is the adapters' business: a name here is only well formed.
"""

from __future__ import annotations

import re
from typing import ClassVar

import attrs

from domain.errors import UnsupportedChannel

NAME = re.compile(r"[A-Z][A-Z0-9_]{0,31}")


@attrs.frozen
class Channel:
    value: str = attrs.field()

    MAIL: ClassVar[Channel]
    SMS: ClassVar[Channel]

    @value.validator
    def _named(self, _: object, value: str) -> None:
        if not NAME.fullmatch(value):
            raise ValueError(f"a channel is named in capitals, digits and '_': {value[:40]!r}")

    @classmethod
    def parse(cls, raw: object, supported: tuple[Channel, ...]) -> Channel:
        """One of ``supported``, named in any letter case, as the engine may send it."""
        name = raw.strip().upper() if isinstance(raw, str) else None
        found = next((channel for channel in supported if channel.value == name), None)
        if found is None:
            raise unsupported(raw, supported)
        return found

    @classmethod
    def named(cls, raw: object) -> Channel:
        """Any well-formed channel name (a template's, a stored code's), in any letter case."""
        name = raw.strip().upper() if isinstance(raw, str) else ""
        if not NAME.fullmatch(name):
            raise UnsupportedChannel(f"Channel {raw!r} is not a channel name.")
        return cls(name)


def unsupported(raw: object, supported: tuple[Channel, ...]) -> UnsupportedChannel:
    allowed = ", ".join(sorted(c.value for c in supported))
    return UnsupportedChannel(f"Channel {raw!r} is not supported; use one of {allowed}.")


Channel.MAIL = Channel("MAIL")
Channel.SMS = Channel("SMS")
