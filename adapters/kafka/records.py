"""Writing a consumed record's answer: its reply, with the request's headers, and its dead
letter, both cut to what the broker takes (``message.max.bytes``) rather than refused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from application.ports import MessagePublisher

if TYPE_CHECKING:
    from adapters.kafka.consumer import Record
    from adapters.kafka.settings import KafkaSettings

HeaderList = Sequence[tuple[str, bytes | None]]


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


class RecordWriter:
    """Sends a record's reply and its dead letter through the service's producer."""

    def __init__(self, publisher: MessagePublisher, settings: KafkaSettings) -> None:
        self._publisher = publisher
        self._settings = settings

    async def reply(self, record: Record, topic: str, reply: Mapping[str, Any]) -> None:
        """The reply, keyed as the request and carrying its headers (but those not echoed)."""
        headers = echoed(record.headers, self._settings.headers_not_echoed)
        value = fit_reply(reply, record.key, headers, self._settings.message_max_bytes)
        await self._publisher.publish(topic, value, key=record.key, headers=headers)

    async def dead_letter(self, record: Record, reason: str) -> None:
        """The record as it came, with where it came from and why it could not be answered."""
        extra = [
            ("dlq-reason", reason.encode()),
            ("dlq-topic", record.topic.encode()),
            ("dlq-partition", str(record.partition).encode()),
            ("dlq-offset", str(record.offset).encode()),
        ]
        value, headers = fit_dead_letter(
            record.value or b"", record.key, [*record.headers, *extra],
            self._settings.message_max_bytes,
        )  # fmt: skip
        await self._publisher.publish(
            self._settings.dead_letter, value, key=record.key, headers=headers
        )
