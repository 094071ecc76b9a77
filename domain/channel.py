"""The delivery channels a code can travel through."""

from __future__ import annotations

import enum

from domain.errors import UnsupportedChannel


class Channel(enum.Enum):
    SMS = "SMS"
    MAIL = "MAIL"

    @classmethod
    def parse(cls, raw: object) -> Channel:
        """Accepts the channel name in any letter case, as the engine may send it."""
        if isinstance(raw, str):
            try:
                return cls(raw.strip().upper())
            except ValueError:
                pass
        allowed = ", ".join(c.value for c in cls)
        raise UnsupportedChannel(f"Channel {raw!r} is not supported; use one of {allowed}.")
