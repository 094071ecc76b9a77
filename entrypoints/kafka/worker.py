"""Consumes the engine's generate and validate topics and answers on the reply topics.

At-least-once: an offset is committed only after the reply to its record (and every record
before it in the partition) was acknowledged by the broker. Effects are idempotent per record
(docs/decisions.md), so a redelivery re-sends the same reply and never a second code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Hashable
from datetime import timedelta
from typing import Any, TypeVar

import attrs
import stamina
import structlog
from confluent_kafka import Consumer, Message
from confluent_kafka import TopicPartition as KafkaTopicPartition

from application.ports import Clock, MessagePublisher, ProcessedRequests
from application.use_cases.generate_otp import GenerateOtp
from application.use_cases.validate_otp import ValidateOtp
from domain.errors import DependencyUnavailable, InvalidRequest
from entrypoints import dispatch
from entrypoints.kafka.offsets import OffsetTracker, TopicPartition
from entrypoints.kafka.ordering import KeyedSequencer
from entrypoints.kafka.records import (
    HeaderList,
    header_value,
    ordering_key,
    process_instance_id,
    request_id,
)
from entrypoints.settings import KafkaSettings

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Stored for a dead-lettered record that had nobody to answer, so a redelivery is skipped.
DEAD_LETTERED = {"deadLettered": True}
DRAIN_SECONDS = 30.0


@attrs.frozen
class Route:
    kind: str
    reply_topic: str
    flag: str


@attrs.frozen
class Prepared:
    body: dict[str, Any] | None
    problem: str | None
    key: Hashable | None


class KafkaWorker:
    def __init__(
        self,
        *,
        settings: KafkaSettings,
        generate: GenerateOtp,
        validate: ValidateOtp,
        processed: ProcessedRequests,
        publisher: MessagePublisher,
        clock: Clock,
        keep_replies: timedelta,
    ) -> None:
        self._settings = settings
        self._generate = generate
        self._validate = validate
        self._processed = processed
        self._publisher = publisher
        self._clock = clock
        self._keep_replies = keep_replies
        self._routes = {
            settings.generate_in: Route("generate", settings.generate_out, "otpSent"),
            settings.validate_in: Route("validate", settings.validate_out, "otpValid"),
        }
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._tracker = OffsetTracker()
        self._sequencer = KeyedSequencer()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.handled = 0

    def consumer_config(self) -> dict[str, Any]:
        return {
            "bootstrap.servers": self._settings.bootstrap_servers,
            "group.id": self._settings.group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            # Range splits each topic across the members: generate and validate loads differ,
            # so balancing the total partition count (as sticky assignors do) is not enough.
            "partition.assignment.strategy": "range",
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 1000,
            "error_cb": lambda error: log.warning("kafka.client_error", error=error.str()),
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until ``stop`` is set, then finishes in-flight work, commits and leaves."""
        self._loop = asyncio.get_running_loop()
        consumer = Consumer(self.consumer_config())
        consumer.subscribe(
            list(self._routes),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        log.info("kafka.consuming", topics=list(self._routes), group=self._settings.group_id)
        try:
            while not stop.is_set():
                records = await asyncio.to_thread(consumer.consume, 200, 0.2)
                for record in records:
                    if record.error() is not None:
                        log.warning("kafka.consume_error", error=str(record.error()))
                        continue
                    await self._slots.acquire()
                    self._start(record)
                await self._commit(consumer)
        finally:
            log.info("kafka.draining", in_flight=len(self._tasks))
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=DRAIN_SECONDS)
            await self._commit(consumer)
            await asyncio.to_thread(consumer.close)
            log.info("kafka.stopped", handled=self.handled)

    # ------------------------------------------------------------ one record

    def _start(self, record: Message) -> None:
        tp: TopicPartition = (record.topic() or "", record.partition() or 0)
        offset = record.offset() or 0
        self._tracker.begin(tp, offset)
        prepared = self._prepare(record)
        task = self._sequencer.submit(prepared.key, self._handle(record, prepared))
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            self._slots.release()
            if done.cancelled():
                return
            if done.exception() is not None:
                # Left uncommitted: the record is redelivered after a restart.
                log.error(
                    "kafka.handle_failed", topic=tp[0], offset=offset, error=repr(done.exception())
                )
                return
            self._tracker.finish(tp, offset)
            self.handled += 1

        task.add_done_callback(finished)

    def _prepare(self, record: Message) -> Prepared:
        value = record.value()
        if value is None:
            return Prepared(None, "The record has no value.", None)
        if len(value) > self._settings.message_max_bytes:
            limit = self._settings.message_max_bytes
            return Prepared(None, f"The record is larger than {limit} bytes.", None)
        try:
            body = dispatch.parse_object(value)
        except InvalidRequest as exc:
            return Prepared(None, exc.message, None)
        return Prepared(body, None, ordering_key(body))

    async def _handle(self, record: Message, prepared: Prepared) -> None:
        topic = record.topic() or ""
        route = self._routes[topic]
        headers = _headers(record)
        rid = request_id(
            topic, record.partition() or 0, record.offset() or 0, record.timestamp()[1]
        )
        reply = await self._retry(self._processed.get, rid)
        if reply is None:
            reply = await self._answer(record, prepared, route, headers, rid)
            keep_until = self._clock.now() + self._keep_replies
            await self._retry(self._processed.put, rid, reply, keep_until)
        if reply != DEAD_LETTERED:
            await self._retry(
                self._publisher.publish,
                route.reply_topic,
                json.dumps(reply).encode(),
                key=record.key(),
                headers=headers,
            )
        log.info(
            "kafka.handled",
            kind=route.kind,
            partition=record.partition(),
            offset=record.offset(),
            error_code=reply.get("errorCode"),
        )

    async def _answer(
        self, record: Message, prepared: Prepared, route: Route, headers: HeaderList, rid: str
    ) -> dict[str, Any]:
        instance = process_instance_id(headers)
        if prepared.body is None:
            problem = prepared.problem or "The record cannot be read."
            await self._dead_letter(record, headers, problem)
            if header_value(headers, "processInstanceId") is None:
                return DEAD_LETTERED
            return dispatch.invalid(None, InvalidRequest(problem), route.flag, instance)
        body = prepared.body

        async def run_use_case() -> dict[str, Any]:
            if route.kind == "generate":
                outcome = await dispatch.generate(self._generate, body, instance, rid)
            else:
                outcome = await dispatch.validate(self._validate, body, instance, rid)
            if isinstance(outcome.error, DependencyUnavailable):
                # A store is down: wait for it rather than fail the engine's flow.
                raise outcome.error
            return outcome.reply

        return await self._retry(run_use_case)

    async def _dead_letter(self, record: Message, headers: HeaderList, reason: str) -> None:
        log.warning(
            "kafka.dead_letter", topic=record.topic(), offset=record.offset(), reason=reason
        )
        extra = [
            ("dlq-reason", reason.encode()),
            ("dlq-topic", (record.topic() or "").encode()),
            ("dlq-partition", str(record.partition()).encode()),
            ("dlq-offset", str(record.offset()).encode()),
        ]
        await self._retry(
            self._publisher.publish,
            self._settings.dead_letter,
            record.value() or b"",
            key=record.key(),
            headers=[*headers, *extra],
        )

    async def _retry(self, action: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async for attempt in stamina.retry_context(
            on=DependencyUnavailable, attempts=None, timeout=None, wait_max=5.0
        ):
            with attempt:
                return await action(*args, **kwargs)
        raise AssertionError("unreachable: retries are unbounded")

    # ------------------------------------------------------------ offsets and rebalances

    async def _commit(self, consumer: Consumer) -> None:
        offsets = self._tracker.committable()
        if not offsets:
            return
        partitions = [KafkaTopicPartition(t, p, o) for (t, p), o in offsets.items()]
        try:
            await asyncio.to_thread(consumer.commit, offsets=partitions, asynchronous=False)
        except Exception as exc:  # noqa: BLE001 - a failed commit is retried with the next one
            log.warning("kafka.commit_failed", error=str(exc))
            return
        self._tracker.committed(offsets)

    def _on_assign(self, _: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        log.info("kafka.assigned", partitions=[(p.topic, p.partition) for p in partitions])

    def _on_revoke(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        """Runs in the consuming thread: finish the revoked partitions' work, commit, let go."""
        if self._loop is None or not partitions:
            return
        tps = {(p.topic, p.partition) for p in partitions}
        future = asyncio.run_coroutine_threadsafe(self._release(tps), self._loop)
        try:
            offsets = future.result(timeout=DRAIN_SECONDS + 5)
        except TimeoutError:
            log.warning("kafka.revoke_timeout", partitions=sorted(tps))
            return
        if offsets:
            consumer.commit(
                offsets=[KafkaTopicPartition(t, p, o) for (t, p), o in offsets.items()],
                asynchronous=False,
            )
        log.info("kafka.revoked", partitions=sorted(tps))

    def _on_lost(self, _: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        if self._loop is None:
            return
        tps = {(p.topic, p.partition) for p in partitions}
        for tp in tps:
            self._loop.call_soon_threadsafe(self._tracker.forget, tp)
        log.warning("kafka.partitions_lost", partitions=sorted(tps))

    async def _release(self, tps: set[TopicPartition]) -> dict[TopicPartition, int]:
        deadline = asyncio.get_running_loop().time() + DRAIN_SECONDS
        while any(self._tracker.in_flight(tp) for tp in tps):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.01)
        offsets = {tp: n for tp, n in self._tracker.committable().items() if tp in tps}
        for tp in tps:
            self._tracker.forget(tp)
        return offsets


def _headers(record: Message) -> HeaderList:
    """The record's headers as sent, in order, duplicates kept: replies carry them unchanged."""
    raw = record.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in pairs]
