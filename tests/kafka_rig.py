"""The Kafka worker wired to a test harness, run on its loop while a scenario executes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from adapters.kafka.settings import KafkaSettings
from entrypoints.container import runtime_of
from tests.harness import Harness, resolve
from tests.integration.kafka import Topics, bootstrap, fresh_topics

T = TypeVar("T")


class WorkerRig:
    """A worker wired to the harness, run on the harness loop while a scenario executes."""

    def __init__(self, harness: Harness, topics: Topics, group: str, max_bytes: int = 4096) -> None:
        self.harness = harness
        self.topics = topics
        self.processed = harness.processed
        self.settings = KafkaSettings.defaults(bootstrap()).model_copy(
            update={
                "group_id": group,
                "generate_in": topics.generate_in,
                "generate_out": topics.generate_out,
                "validate_in": topics.validate_in,
                "validate_out": topics.validate_out,
                "dead_letter": topics.dead_letter,
                "message_max_bytes": max_bytes,
            }
        )

    def run(
        self,
        scenario: Callable[[], Awaitable[T]],
        group: str | None = None,
        events_topic: str | None = None,
    ) -> T:
        async def with_worker() -> T:
            settings = self.settings.model_copy(
                update={"group_id": group or self.settings.group_id, "events": events_topic}
            )
            # The worker as the service wires it, over the harness's fakes.
            container = self.harness.wired(
                self.harness.settings().model_copy(update={"kafka": settings})
            )
            worker = await resolve(runtime_of(container).kafka_worker)
            assert worker is not None
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            try:
                return await scenario()
            finally:
                stop.set()
                await task
                stopped = container.shutdown_resources()
                if stopped is not None:
                    await stopped

        result: T = self.harness.run(with_worker())
        return result


@pytest.fixture
def rig(harness: Harness) -> Iterator[WorkerRig]:
    yield WorkerRig(harness, fresh_topics(), group="otp-test")
