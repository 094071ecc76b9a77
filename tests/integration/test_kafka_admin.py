"""KAFKA_CREATE_TOPICS: the service creates its own topics at start, once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from adapters.kafka.admin import ensure_topics
from tests.integration.kafka import bootstrap

pytestmark = [pytest.mark.integration, pytest.mark.kafka]


def test_missing_topics_are_created_with_the_partitions_asked_and_only_once() -> None:
    tag = uuid.uuid4().hex[:8]
    topics = [f"created-{tag}.in", f"created-{tag}.out"]
    config: dict[str, Any] = {"bootstrap.servers": bootstrap()}
    assert sorted(asyncio.run(ensure_topics(config, topics, partitions=3, replication=1))) == topics
    assert asyncio.run(ensure_topics(config, topics, partitions=3, replication=1)) == []
    metadata = AdminClient(config).list_topics(timeout=10)
    assert [len(metadata.topics[t].partitions) for t in topics] == [3, 3]
