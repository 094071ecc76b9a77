"""Who receives a code: an E.164 phone number or an e-mail address, already checked."""

from __future__ import annotations

import attrs

from domain.channel import Channel


@attrs.frozen
class Recipient:
    channel: Channel
    address: str
    display_name: str | None = None
    # For SMS: the country calling code (40 for Romania), which the per-country cap follows.
    calling_code: int | None = None
