"""Publishing to Kafka with headers, awaited until the broker acknowledges each record."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from application.ports import Headers
from domain.errors import DependencyUnavailable, InternalError, OtpError

log = structlog.get_logger(__name__)

# Errors no retry can cure: the record itself, its topic or our rights are at fault.
PERMANENT = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.INVALID_RECORD,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.TOPIC_EXCEPTION,
        KafkaError._INVALID_ARG,
    }
)


def publish_error(error: KafkaError) -> OtpError:
    """Permanent errors (``InternalError``) are not retried; the rest mean the broker is away."""
    if error.code() in PERMANENT:
        return InternalError(f"Kafka refused the record: {error.str()}.")
    return DependencyUnavailable(f"Kafka did not take the record: {error.str()}.")


class KafkaMessagePublisher:
    """A confluent-kafka ``Producer`` served by one polling thread.

    confluent-kafka's asyncio producer refuses ``headers=``, and replies must carry the
    request's headers; so the plain producer is used and its delivery reports are handed to
    asyncio futures. Idempotence is on: a retried send never duplicates a record. Keys are
    partitioned with murmur2, as the Java client does.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self._producer = Producer(
            # linger.ms 0: a reply leaves at once (the engine waits for it); records still go
            # in batches while earlier ones are on their way. murmur2_random is the Java
            # client's partitioner: a keyed reply lands where a Java producer would put it.
            {
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 0,
                "partitioner": "murmur2_random",
                **config,
            }
        )
        self._running = True
        self._poller = threading.Thread(target=self._poll, name="kafka-producer", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while self._running:
            self._producer.poll(0.1)

    async def publish(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: Headers = ()
    ) -> None:
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[None] = loop.create_future()

        def on_delivery(error: KafkaError | None, _: Message) -> None:
            loop.call_soon_threadsafe(_settle, delivered, error)

        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=list(headers), on_delivery=on_delivery
                )
                break
            except BufferError:
                # The local queue is full: let the poller drain it.
                await asyncio.sleep(0.05)
            except KafkaException as exc:
                raise publish_error(exc.args[0]) from None
        await delivered

    def close(self, timeout: float = 10.0) -> None:
        remaining = self._producer.flush(timeout)
        self._running = False
        self._poller.join(timeout=2)
        if remaining:
            log.warning("kafka.producer_unflushed", records=remaining)


def _settle(future: asyncio.Future[None], error: KafkaError | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(publish_error(error))


async def kafka_publisher(config: dict[str, Any]) -> AsyncIterator[KafkaMessagePublisher]:
    publisher = KafkaMessagePublisher(config)
    try:
        yield publisher
    finally:
        await asyncio.to_thread(publisher.close)
