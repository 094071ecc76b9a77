"""Reading an engine record: its processInstanceId header and its ordering key."""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

HeaderList = Sequence[tuple[str, bytes | None]]

PROCESS_INSTANCE_ID = "processInstanceId"

# The engine keeps processInstanceId as a signed 64-bit integer.
INSTANCE_ID_RANGE = range(-(2**63), 2**63)


def process_instance_id(headers: HeaderList) -> object:
    """The header as the number it spells when JSON and the engine can carry it (12345 stays a
    number); anything else (NaN, 1e999, 99999999999999999999, text) as the header's text."""
    raw = next((v for k, v in reversed(headers) if k == PROCESS_INSTANCE_ID), None)
    if raw is None:
        return None
    text = raw.decode("utf-8", errors="replace")
    stripped = text.strip()
    if stripped.startswith('"'):
        try:
            quoted = json.loads(stripped)
        except ValueError:
            return text
        return quoted if isinstance(quoted, str) else text
    if stripped.lstrip("-").isdigit() and len(stripped) <= 20:
        number = int(stripped)
        if number in INSTANCE_ID_RANGE:
            return number
    return text


def ordering_key(body: Mapping[str, Any]) -> Hashable | None:
    client, channel = body.get("clientId"), body.get("channel")
    if client is None or not isinstance(channel, str):
        return None
    return (str(client), channel.strip().upper())
