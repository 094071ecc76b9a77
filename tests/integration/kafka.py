"""Access to the Kafka broker started by scripts/services: fresh topics, producing, reading."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.integration.servers import server_address


def bootstrap() -> str:
    return server_address("KAFKA_BOOTSTRAP_SERVERS")


@attrs.frozen
class Topics:
    generate_in: str
    generate_out: str
    validate_in: str
    validate_out: str
    dead_letter: str

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_TOPIC_OTP_GENERATE_IN": self.generate_in,
            "KAFKA_TOPIC_OTP_GENERATE_OUT": self.generate_out,
            "KAFKA_TOPIC_OTP_VALIDATE_IN": self.validate_in,
            "KAFKA_TOPIC_OTP_VALIDATE_OUT": self.validate_out,
            "KAFKA_TOPIC_OTP_DLQ": self.dead_letter,
        }


def fresh_topics(partitions: int = 4, servers: str | None = None, replicas: int = 1) -> Topics:
    """New topics on the single broker, or on ``servers`` with ``replicas`` copies each."""
    tag = uuid.uuid4().hex[:10]
    topics = Topics(
        *(f"t{tag}.{name}" for name in ("gen.in", "gen.out", "val.in", "val.out", "dlq"))
    )
    admin = AdminClient({"bootstrap.servers": servers or bootstrap()})
    futures = admin.create_topics(
        [
            NewTopic(t, num_partitions=partitions, replication_factor=replicas)
            for t in attrs.astuple(topics)
        ]
    )
    for future in futures.values():
        future.result(timeout=30)
    return topics


def produce(
    topic: str,
    records: Sequence[tuple[bytes | None, bytes, list[tuple[str, bytes]]]],
    servers: str | None = None,
) -> None:
    producer = Producer({"bootstrap.servers": servers or bootstrap(), "linger.ms": 5})
    for key, value, headers in records:
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=list[Any](headers))
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(30) == 0


def read(
    topics: Sequence[str],
    count: int,
    timeout: float = 60,
    until: Callable[[list[Message]], bool] | None = None,
    servers: str | None = None,
) -> list[Message]:
    """Reads from the start of ``topics`` until ``count`` records (or ``until`` holds)."""
    done = until or (lambda records: len(records) >= count)
    consumer = Consumer(
        {
            "bootstrap.servers": servers or bootstrap(),
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(list(topics))
    records: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while not done(records) and time.monotonic() < deadline:
            records.extend(r for r in consumer.consume(500, 0.5) if r.error() is None)
    finally:
        consumer.close()
    assert done(records), f"read {len(records)} records from {topics}, wanted {count}"
    return records


def body(record: Message) -> dict[str, Any]:
    value = record.value()
    assert value is not None
    parsed: dict[str, Any] = json.loads(value)
    return parsed
