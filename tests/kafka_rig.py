"""The Kafka worker wired to a test harness, run on its loop while a scenario executes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import attrs
import pytest

from adapters.kafka.events import KafkaEventPublisher
from adapters.kafka.publisher import KafkaMessagePublisher
from application.events import LifecycleEvents
from entrypoints.kafka.worker import KafkaWorker
from entrypoints.settings import KafkaSettings
from tests.harness import Harness
from tests.integration.kafka import Topics, bootstrap, fresh_topics

T = TypeVar("T")


class WorkerRig:
    """A worker wired to the harness, run on the harness loop while a scenario executes."""

    def __init__(self, harness: Harness, topics: Topics, group: str, max_bytes: int = 4096) -> None:
        self.harness = harness
        self.topics = topics
        self.processed = harness.processed
        self.settings = KafkaSettings(
            bootstrap_servers=bootstrap(),
            group_id=group,
            generate_in=topics.generate_in,
            generate_out=topics.generate_out,
            validate_in=topics.validate_in,
            validate_out=topics.validate_out,
            dead_letter=topics.dead_letter,
            message_max_bytes=max_bytes,
        )

    def run(
        self,
        scenario: Callable[[], Awaitable[T]],
        group: str | None = None,
        events_topic: str | None = None,
    ) -> T:
        async def with_worker() -> T:
            publisher = KafkaMessagePublisher({"bootstrap.servers": bootstrap()})
            settings = self.settings
            events = None
            if events_topic is not None:
                events = LifecycleEvents(
                    KafkaEventPublisher(publisher, events_topic),
                    self.harness.adapters.pseudonyms(),
                    self.harness.clock,
                    self.harness.adapters.chance(),
                )
            if group is not None:
                settings = attrs.evolve(settings, group_id=group)
            worker = KafkaWorker(
                settings=settings,
                generate=self.harness.generate_use_case,
                validate=self.harness.validate_use_case,
                replies=self.harness.replies,
                publisher=publisher,
                telemetry=self.harness.telemetry,
                events=events,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            try:
                return await scenario()
            finally:
                stop.set()
                await task
                await asyncio.to_thread(publisher.close)

        result: T = self.harness.run(with_worker())
        return result


@pytest.fixture
def rig(harness: Harness) -> Iterator[WorkerRig]:
    yield WorkerRig(harness, fresh_topics(), group="otp-test")
