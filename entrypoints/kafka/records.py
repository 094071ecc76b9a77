"""Reading an engine record: its request id, its processInstanceId header, its ordering key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

HeaderList = Sequence[tuple[str, bytes | None]]

PROCESS_INSTANCE_ID = "processInstanceId"


def request_id(topic: str, partition: int, offset: int, timestamp: int) -> str:
    """Stable across redeliveries of one record, distinct for every other record."""
    raw = f"{topic}\x00{partition}\x00{offset}\x00{timestamp}".encode()
    return hashlib.sha256(raw).hexdigest()


def header_value(headers: HeaderList, name: str) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def process_instance_id(headers: HeaderList) -> object:
    """The header as the JSON value it spells (12345 stays a number), else as text."""
    raw = header_value(headers, PROCESS_INSTANCE_ID)
    if raw is None:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        value: Any = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, int | float | str) and not isinstance(value, bool) else text


def ordering_key(body: Mapping[str, Any]) -> Hashable | None:
    client, channel = body.get("clientId"), body.get("channel")
    if client is None or not isinstance(channel, str):
        return None
    return (str(client), channel.strip().upper())
