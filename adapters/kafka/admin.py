"""Creating the service's own topics at start, for deployments that let it (KAFKA_CREATE_TOPICS)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from domain.errors import DependencyUnavailable

log = structlog.get_logger(__name__)


def _create(
    config: dict[str, Any], topics: list[str], partitions: int, replication: int
) -> list[str]:
    admin = AdminClient(config)
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=replication) for t in topics],
        request_timeout=15,
    )
    created = []
    for topic, future in futures.items():
        try:
            future.result(timeout=20)
            created.append(topic)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise DependencyUnavailable(
                    f"Kafka did not create topic {topic}: {error.str()}."
                ) from None
    return created


async def ensure_topics(
    config: dict[str, Any], topics: Iterable[str], partitions: int = -1, replication: int = -1
) -> list[str]:
    """Creates the topics that do not exist yet (-1: the broker's default); returns those made."""
    created = await asyncio.to_thread(_create, config, sorted(set(topics)), partitions, replication)
    if created:
        log.info("kafka.topics_created", topics=created)
    return created
