"""Reading an engine record: its request id, its processInstanceId header, its ordering key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

HeaderList = Sequence[tuple[str, bytes | None]]

PROCESS_INSTANCE_ID = "processInstanceId"


def request_id(topic: str, partition: int, offset: int, timestamp: int) -> str:
    """Stable across redeliveries of one record, distinct for every other record."""
    raw = f"{topic}\x00{partition}\x00{offset}\x00{timestamp}".encode()
    return hashlib.sha256(raw).hexdigest()


def header_value(headers: HeaderList, name: str) -> bytes | None:
    """The header's last value, as the Java client's ``lastHeader()`` and Spring read it."""
    for key, value in reversed(headers):
        if key == name:
            return value
    return None


def echoed(headers: HeaderList, not_echoed: Collection[str]) -> HeaderList:
    """The request's headers for its reply: all of them, repeats included and in order, but
    those named in ``not_echoed`` (Spring's type-mapping headers by default)."""
    return [(key, value) for key, value in headers if key not in not_echoed]


# The engine keeps processInstanceId as a signed 64-bit integer.
INSTANCE_ID_RANGE = range(-(2**63), 2**63)


def process_instance_id(headers: HeaderList) -> object:
    """The header as the number it spells when JSON and the engine can carry it (12345 stays a
    number); anything else (NaN, 1e999, 99999999999999999999, text) as the header's text."""
    raw = header_value(headers, PROCESS_INSTANCE_ID)
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


# Room for the record's framing and the broker's own fields, beyond key, value and headers.
RECORD_OVERHEAD = 1024
# Echoed text fields of a reply are cut to this length when the reply would not fit.
ECHO_LIMIT = 256


def _headers_size(headers: HeaderList) -> int:
    return sum(len(k.encode()) + len(v or b"") for k, v in headers)


def fit_dead_letter(
    value: bytes, key: bytes | None, headers: HeaderList, limit: int
) -> tuple[bytes, HeaderList]:
    """The original bytes, cut to what the broker takes, with ``dlq-truncated`` (the original
    size) when they were cut."""
    budget = limit - RECORD_OVERHEAD - len(key or b"") - _headers_size(headers) - 64
    if len(value) <= budget:
        return value, headers
    return value[: max(budget, 0)], [*headers, ("dlq-truncated", str(len(value)).encode())]


def fit_reply(
    reply: Mapping[str, Any], key: bytes | None, headers: HeaderList, limit: int
) -> bytes:
    """The reply as JSON; if it would not fit, the fields it echoes from the request are cut."""
    value = json.dumps(reply).encode()
    budget = limit - RECORD_OVERHEAD - len(key or b"") - _headers_size(headers)
    if len(value) <= budget:
        return value
    cut = dict(reply)
    for name in ("processInstanceId", "clientId", "channel", "error"):
        field = cut.get(name)
        if isinstance(field, str):
            cut[name] = field[:ECHO_LIMIT]
        elif name in ("clientId", "channel") and not isinstance(field, int | None):
            cut[name] = None  # an object or array echoed from a bad request
    return json.dumps(cut).encode()
