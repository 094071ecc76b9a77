"""Consumes the engine's generate and validate topics and answers on the reply topics.

At-least-once: an offset is committed only after the reply to its record (and every record
before it in the partition) was acknowledged by the broker. Effects are idempotent per record
(docs/decisions.md), so a redelivery re-sends the same reply and never a second code.

Every record ends in exactly one way (docs/reliability.md): its reply; or, when it cannot be
answered normally, a dead-letter record plus an error reply when it can be correlated; or a
wait, with backoff, while a dependency is down. Only ``DependencyUnavailable`` is waited for;
every other failure is permanent for that record, and the offset moves on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient
from opentelemetry.trace import SpanKind

from application.events import LifecycleEvents
from application.idempotency import IdempotentReplies
from application.ports import MessagePublisher
from application.use_cases.generate_otp import GenerateOtp
from application.use_cases.validate_otp import ValidateOtp
from domain.errors import DependencyUnavailable, InternalError, InvalidRequest, OtpError
from entrypoints import dispatch
from entrypoints.kafka.offsets import OffsetTracker, TopicPartition
from entrypoints.kafka.ordering import KeyedSequencer
from entrypoints.kafka.records import (
    HeaderList,
    echoed,
    fit_dead_letter,
    fit_reply,
    header_value,
    ordering_key,
    process_instance_id,
    request_id,
)
from entrypoints.kafka.throttle import ThrottledLog
from entrypoints.logging import loggable

if TYPE_CHECKING:
    from adapters.kafka.settings import KafkaSettings
    from adapters.telemetry import Telemetry

log = structlog.get_logger(__name__)
# librdkafka's log lines, handed to the standard library's logging (entrypoints/logging.py).
CLIENT_LOGGER = logging.getLogger("confluent_kafka")

T = TypeVar("T")

# Stored for a dead-lettered record that had nobody to answer, so a redelivery is skipped.
DEAD_LETTERED = {"deadLettered": True}
POLL_SECONDS = 0.1
# How long the records in flight may stay at KAFKA_MAX_IN_FLIGHT before the partitions pause.
PAUSE_AFTER_SECONDS = 1.0
COMMIT_EVERY_SECONDS = 0.5
PROBE_EVERY_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 2.0
CLOSE_RESERVE_SECONDS = 1.5
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0


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
        replies: IdempotentReplies,
        publisher: MessagePublisher,
        telemetry: Telemetry,
        grace_seconds: float = 30.0,
        events: LifecycleEvents | None = None,
    ) -> None:
        self._events = events
        self._settings = settings
        self._telemetry = telemetry
        self._generate = generate
        self._validate = validate
        self._replies = replies
        self._publisher = publisher
        self._grace = grace_seconds
        self._routes = {
            settings.generate_in: Route("generate", settings.generate_out, "otpSent"),
            settings.validate_in: Route("validate", settings.validate_out, "otpValid"),
        }
        self._tracker = OffsetTracker()
        self._sequencer = KeyedSequencer()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._paused = False
        self._full_since: float | None = None
        self._reassigned = False
        self._throttle = ThrottledLog()
        self._last_commit = 0.0
        self.handled = 0
        self.dead_lettered = 0
        # Why the broker is not usable, or None; read by /readyz.
        self.broker_problem: str | None = "not connected yet"
        # What the probe found wrong with the topics (a reply topic missing, a partition with
        # no leader) and the last failed reply per topic; read by /readyz.
        self._topic_problem: str | None = None
        self._reply_failures: dict[str, str] = {}
        # The partitions held, since when none, and the group's view when none are held.
        self._assigned: set[TopicPartition] = set()
        self._unassigned_since: float | None = time.monotonic()
        self._group_problem: str | None = None
        self._last_record = time.monotonic()
        self._telemetry.kafka_idle_seconds.set_function(
            lambda: time.monotonic() - self._last_record
        )

    def readiness_problem(self) -> str | None:
        """Why the Kafka entrypoint cannot answer the engine now, or None."""
        if self.broker_problem is not None:
            return f"Kafka: {self.broker_problem}"
        if self._topic_problem is not None:
            return f"Kafka: {self._topic_problem}"
        for topic, failure in sorted(self._reply_failures.items()):
            return f"Kafka: replies to {topic} fail: {failure}"
        return self._group_problem

    def consumer_config(self) -> dict[str, Any]:
        settings = self._settings
        # Under KIP-848 (group.protocol=consumer) the broker owns the session, the heartbeat
        # and the assignment; librdkafka refuses the classic protocol's settings for them.
        group: dict[str, Any] = (
            {"group.protocol": "consumer"}
            if settings.group_protocol == "consumer"
            else {
                "group.protocol": "classic",
                "partition.assignment.strategy": settings.assignor,
                "session.timeout.ms": settings.session_timeout_ms,
                "heartbeat.interval.ms": settings.heartbeat_interval_ms,
            }
        )
        return {
            **settings.client_config(),
            **group,
            "group.id": settings.group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "max.poll.interval.ms": settings.max_poll_interval_ms,
            # A topic created after start is seen within seconds, not librdkafka's 5 minutes.
            "topic.metadata.refresh.interval.ms": self._settings.metadata_refresh_ms,
            "reconnect.backoff.max.ms": 1000,
            "error_cb": self._client_error,
            # The consumer lag per partition, for /metrics.
            "statistics.interval.ms": self._settings.statistics_interval_ms,
            "stats_cb": self._telemetry.kafka_statistics,
            # librdkafka's own log lines go through the service's logging (JSON or console).
            "logger": CLIENT_LOGGER,
        }

    def _client_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self.broker_problem = "all brokers are down"
        self._throttle.warning(f"kafka:{error.name()}", "kafka.client_error", error=error.str())

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until ``stop`` is set, then finishes in-flight work within the grace
        period, commits what finished and leaves the group."""
        self._loop = asyncio.get_running_loop()
        consumer = Consumer(self.consumer_config())
        consumer.subscribe(
            list(self._routes),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        log.info("kafka.consuming", topics=list(self._routes), group=self._settings.group_id)
        prober = asyncio.create_task(self._probe(consumer, stop), name="kafka-probe")
        try:
            while not stop.is_set():
                try:
                    await self._poll_once(consumer)
                    await self._commit(consumer)
                except Exception as exc:  # noqa: BLE001 - nothing may end the consume loop
                    self._throttle.warning("kafka:loop", "kafka.loop_error", error=repr(exc))
                    await asyncio.sleep(POLL_SECONDS)
        finally:
            prober.cancel()
            await self._shutdown(consumer)

    async def _poll_once(self, consumer: Consumer) -> None:
        in_flight = len(self._tasks)
        limit = self._settings.max_in_flight
        if in_flight >= limit and not self._paused:
            # In a burst, room comes back within milliseconds: wait for it. Pausing at once
            # made each burst pause and resume the partitions over and over, every cycle
            # waiting out a whole poll interval on the paused partitions (90 records a second
            # where 430 were possible).
            await asyncio.wait(
                set(self._tasks), timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            now = time.monotonic()
            if len(self._tasks) < limit:
                self._full_since = None
                return
            self._full_since = self._full_since or now
            if now - self._full_since < PAUSE_AFTER_SECONDS:
                return
        # Still full after that (a dependency is down): back-pressure by pausing the
        # partitions, never by not polling, or the group evicts a worker that stops polling
        # for max.poll.interval.ms. Resume at half, so a busy worker does not flap.
        wanted = self._paused
        if len(self._tasks) >= limit:
            wanted = True
        elif len(self._tasks) <= limit // 2:
            wanted = False
            self._full_since = None
        await self._pause(consumer, wanted)
        free = max(1, min(limit - len(self._tasks), 100))
        records = await asyncio.to_thread(_fetch, consumer, free, POLL_SECONDS)
        for record in records:
            error = record.error()
            if error is not None:
                self._throttle.warning(
                    f"kafka:consume:{error.name()}", "kafka.consume_error", error=error.str()
                )
                continue
            self._start(record)

    async def _pause(self, consumer: Consumer, paused: bool) -> None:
        """Pauses or resumes the whole assignment. Applied again after every rebalance:
        librdkafka keeps a partition paused across a rebalance that gives it back. In a
        thread: librdkafka's pause and resume wait for its own threads."""
        if paused == self._paused and not self._reassigned:
            return

        def apply() -> None:
            assigned = consumer.assignment()
            if paused:
                consumer.pause(assigned)
            else:
                consumer.resume(assigned)

        await asyncio.to_thread(apply)
        self._paused, self._reassigned = paused, False
        log.debug("kafka.paused" if paused else "kafka.resumed", in_flight=len(self._tasks))

    async def _probe(self, consumer: Consumer, stop: asyncio.Event) -> None:
        """Asks a broker for the topics' metadata every second, so readiness follows the broker
        and the topics both ways; and, while this worker holds no partition, the group."""
        config: dict[str, Any] = {**self._settings.client_config(), "logger": CLIENT_LOGGER}
        admin = AdminClient(config)
        replies = sorted({route.reply_topic for route in self._routes.values()})
        while not stop.is_set():
            try:
                found = await asyncio.to_thread(
                    _topics_metadata, consumer, [*self._routes, *replies]
                )
            except KafkaException:
                self.broker_problem = "no broker answers"
            else:
                self.broker_problem = None
                self._topic_problem = _topic_problem(found, replies)
                self._group_problem = await self._check_group(admin, found)
            await asyncio.sleep(PROBE_EVERY_SECONDS)

    async def _check_group(self, admin: AdminClient, found: dict[str, Any]) -> str | None:
        """A worker that has held no partition for KAFKA_UNASSIGNED_READY_SECONDS while its
        group has members, and no more members than partitions (so each should hold one), is
        not consuming: a lost session, a rebalance that does not end."""
        since = self._unassigned_since
        limit = self._settings.unassigned_ready_seconds
        if since is None or time.monotonic() - since < limit:
            return None
        partitions = sum(len(found[t].partitions) for t in self._routes if t in found)
        members = await asyncio.to_thread(_group_members, admin, self._settings.group_id)
        if members == 0 or (members is not None and members > partitions):
            return None  # nobody else holds them either, or this worker is a spare
        held = round(time.monotonic() - since)
        return f"Kafka: this worker has held no partition for {held} s while its group has members"

    async def _shutdown(self, consumer: Consumer) -> None:
        """Within the grace period: wait for the records in flight, abandon the rest, commit
        what finished and leave the group. The last ``CLOSE_RESERVE_SECONDS`` of the grace are
        kept for the commit and the leave, which run in daemon threads so that a broker that
        does not answer cannot hold the process past its grace."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._grace
        reserve = min(CLOSE_RESERVE_SECONDS, self._grace / 2)
        log.info("kafka.draining", in_flight=len(self._tasks), grace_seconds=self._grace)
        if self._tasks:
            wait = max(deadline - reserve - loop.time(), 0)
            _, pending = await asyncio.wait(set(self._tasks), timeout=wait)
            for task in pending:
                # Left uncommitted: another worker, or this one restarted, answers it.
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                log.warning("kafka.abandoned", records=len(pending))
        offsets = self._tracker.committable()
        if offsets:
            partitions = [KafkaTopicPartition(t, p, o) for (t, p), o in offsets.items()]
            await _bounded(
                lambda: consumer.commit(offsets=partitions, asynchronous=False),
                max(deadline - loop.time() - reserve / 2, 0.2),
            )
        # What was abandoned stays uncommitted; the revoke that close() triggers need not wait.
        self._tracker.clear()
        await _bounded(consumer.close, max(deadline - loop.time(), 0.2))
        log.info("kafka.stopped", handled=self.handled, dead_lettered=self.dead_lettered)

    # ------------------------------------------------------------ one record

    def _start(self, record: Message) -> None:
        tp: TopicPartition = (record.topic() or "", record.partition() or 0)
        offset = record.offset() or 0
        self._tracker.begin(tp, offset)
        prepared = self._prepare(record)
        task = self._sequencer.submit(prepared.key, self._handle(record, prepared))
        self._tasks.add(task)
        self._telemetry.kafka_in_flight.set(len(self._tasks))

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            self._telemetry.kafka_in_flight.set(len(self._tasks))
            if done.cancelled() or done.exception() is not None:
                # Only a shutdown cancels; _handle itself never raises. Left uncommitted.
                return
            self._tracker.finish(tp, offset)
            self.handled += 1
            self._last_record = time.monotonic()

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
            return Prepared(body, None, ordering_key(body))
        except InvalidRequest as exc:
            return Prepared(None, exc.message, None)
        except Exception as exc:  # noqa: BLE001 - no record may stop the consumer
            return Prepared(None, f"The record cannot be read ({type(exc).__name__}).", None)

    async def _handle(self, record: Message, prepared: Prepared) -> None:
        route = self._routes[record.topic() or ""]
        headers = _headers(record)
        rid = request_id(
            record.topic() or "", record.partition() or 0, record.offset() or 0,
            record.timestamp()[1],
        )  # fmt: skip
        body = prepared.body or {}
        started = time.perf_counter()
        # Every line logged for this record carries its correlation (a task's own context).
        structlog.contextvars.bind_contextvars(
            entrypoint="kafka",
            operation=route.kind,
            process_instance_id=loggable(process_instance_id(headers)),
            request_id=rid,
            template=loggable(body.get("templateName")),
            channel=loggable(body.get("channel")),
        )
        with self._telemetry.span(
            f"otp.{route.kind}",
            self._telemetry.carrier(headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic() or "",
                "messaging.kafka.message.offset": record.offset() or 0,
                "messaging.destination.partition.id": str(record.partition()),
            },
        ) as span:
            structlog.contextvars.bind_contextvars(trace_id=self._telemetry.trace_id())
            outcome = await self._reply(record, prepared, route, headers, rid)
            span.set_attribute("otp.outcome", outcome)
        elapsed = time.perf_counter() - started
        self._telemetry.kafka_records.labels(record.topic() or "", outcome).inc()
        self._telemetry.requests.labels("kafka", route.kind, outcome).inc()
        self._telemetry.request_seconds.labels("kafka", route.kind).observe(elapsed)
        log.info(
            "kafka.handled",
            partition=record.partition(),
            offset=record.offset(),
            outcome=outcome,
            duration_ms=round(elapsed * 1000, 2),
        )

    async def _reply(
        self,
        record: Message,
        prepared: Prepared,
        route: Route,
        headers: HeaderList,
        rid: str,
    ) -> str:
        """Answers the record; returns its outcome: OK, an error code, or dead_letter."""
        try:
            # The record's id is its own fingerprint: one id, one record.
            reply = await self._retry(self._replies.kept, rid, rid)
            steps = []
            if reply is None:
                reply, error = await self._answer(record, prepared, route, headers, rid)
                # Keeping the reply and sending it run side by side: a crash between the two is
                # answered the same way on redelivery either way (the ledger knows this
                # request's code and its use), so neither needs to wait for the other.
                steps.append(self._retry(self._replies.keep, rid, rid, reply, error))
            if reply != DEAD_LETTERED:
                steps.append(self._publish_reply(record, route, headers, reply))
            await asyncio.gather(*steps)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - permanent for this record: give it up
            await self._give_up(record, route, headers, exc)
            return "dead_letter"
        if reply == DEAD_LETTERED:
            return "dead_letter"
        return str(reply.get("errorCode") or "OK")

    async def _answer(
        self, record: Message, prepared: Prepared, route: Route, headers: HeaderList, rid: str
    ) -> tuple[dict[str, Any], OtpError | None]:
        """The reply and its error (None for success), or DEAD_LETTERED when no reply can go."""
        instance = process_instance_id(headers)
        if prepared.body is None:
            problem = prepared.problem or "The record cannot be read."
            await self._dead_letter(record, headers, problem)
            if header_value(headers, "processInstanceId") is None:
                return DEAD_LETTERED, None
            refused = InvalidRequest(problem)
            return dispatch.invalid(None, refused, route.flag, instance), refused
        body = prepared.body

        async def run_use_case() -> dispatch.Outcome:
            if route.kind == "generate":
                outcome = await dispatch.generate(
                    self._generate, body, instance, rid, caller="kafka", events=self._events
                )
            else:
                outcome = await dispatch.validate(
                    self._validate, body, instance, rid, events=self._events
                )
            if isinstance(outcome.error, DependencyUnavailable):
                # A store is down: wait for it rather than fail the engine's flow.
                raise outcome.error
            return outcome

        outcome = await self._retry(run_use_case)
        self._telemetry.count_limit(outcome.error)
        if isinstance(outcome.error, InternalError):
            # Refused for good (a store rejected the write, an unexpected failure): the engine
            # gets INTERNAL_ERROR, and the record is kept for a person to look at.
            await self._dead_letter(record, headers, outcome.error.message)
        return outcome.reply, outcome.error

    async def _publish_reply(
        self, record: Message, route: Route, headers: HeaderList, reply: dict[str, Any]
    ) -> None:
        headers = echoed(headers, self._settings.headers_not_echoed)
        value = fit_reply(reply, record.key(), headers, self._settings.message_max_bytes)
        topic = route.reply_topic

        async def publish() -> None:
            try:
                await self._publisher.publish(topic, value, key=record.key(), headers=headers)
            except OtpError as exc:
                self._reply_failures[topic] = exc.message  # /readyz says so until one goes
                raise
            self._reply_failures.pop(topic, None)

        await self._retry(publish)

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
        value, all_headers = fit_dead_letter(
            record.value() or b"", record.key(), [*headers, *extra],
            self._settings.message_max_bytes,
        )  # fmt: skip
        await self._retry(
            self._publisher.publish,
            self._settings.dead_letter,
            value,
            key=record.key(),
            headers=all_headers,
        )
        self.dead_lettered += 1
        self._telemetry.kafka_dead_letters.labels(record.topic() or "").inc()

    async def _give_up(
        self, record: Message, route: Route, headers: HeaderList, exc: Exception
    ) -> None:
        """A record whose handling failed for good: dead-letter it and, when the engine can be
        told, say INTERNAL_ERROR. Failures here are logged, never raised: the offset moves on."""
        reason = exc.message if isinstance(exc, OtpError) else type(exc).__name__
        log.error(
            "kafka.record_failed", topic=record.topic(), offset=record.offset(), reason=reason
        )
        try:
            await self._dead_letter(record, headers, reason)
        except Exception as failed:  # noqa: BLE001 - the dead-letter topic refused it too
            log.error("kafka.dead_letter_failed", offset=record.offset(), error=repr(failed))
        if header_value(headers, "processInstanceId") is None:
            return
        error = InternalError("The service could not handle the request.")
        reply = dispatch.invalid(None, error, route.flag, process_instance_id(headers))
        try:
            await self._publish_reply(record, route, headers, reply)
        except Exception as failed:  # noqa: BLE001 - nothing more can be done for this record
            log.error("kafka.error_reply_failed", offset=record.offset(), error=repr(failed))

    async def _retry(self, action: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Waits out a dependency that is down (until shutdown cancels); anything else raises.

        Not stamina here: its retry log hooks are process-wide, and during an outage every
        record in flight would log each retry. This loop logs one line per dependency per
        interval (``ThrottledLog``) with the same capped, jittered exponential backoff.
        """
        for attempt in itertools.count():
            try:
                return await action(*args, **kwargs)
            except DependencyUnavailable as exc:
                self._throttle.warning(
                    f"dependency:{exc.message}", "dependency.waiting", retry=attempt + 1
                )
                await asyncio.sleep(_backoff(attempt))
        raise AssertionError("unreachable: the loop above only returns or raises")

    # ------------------------------------------------------------ offsets and rebalances

    async def _commit(self, consumer: Consumer) -> None:
        now = time.monotonic()
        if now - self._last_commit < COMMIT_EVERY_SECONDS:
            return
        offsets = self._tracker.committable()
        if not offsets:
            return
        self._last_commit = now
        partitions = [KafkaTopicPartition(t, p, o) for (t, p), o in offsets.items()]
        try:
            await asyncio.to_thread(consumer.commit, offsets=partitions, asynchronous=False)
        except KafkaException as exc:
            self._throttle.warning("kafka:commit", "kafka.commit_failed", error=str(exc))
            return
        self._tracker.committed(offsets)

    def _holding(self, added: set[TopicPartition], removed: set[TopicPartition]) -> None:
        """Keeps the partitions held (assign adds, revoke and loss remove: eager and
        incremental protocols alike), the gauge and since when none are held."""
        self._assigned = (self._assigned - removed) | added
        self._telemetry.kafka_partitions.set(len(self._assigned))
        if self._assigned:
            self._unassigned_since = None
            self._group_problem = None
        elif self._unassigned_since is None:
            self._unassigned_since = time.monotonic()

    def _on_assign(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        self._reassigned = True  # the loop applies the pause state to the new assignment
        self._holding({(p.topic, p.partition) for p in partitions}, set())
        log.info("kafka.assigned", partitions=[(p.topic, p.partition) for p in partitions])

    def _on_revoke(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        """Runs in the consuming thread: finish the revoked partitions' work, commit, let go."""
        if self._loop is None or not partitions:
            return
        tps = {(p.topic, p.partition) for p in partitions}
        self._holding(set(), tps)
        future = asyncio.run_coroutine_threadsafe(self._release(tps), self._loop)
        try:
            offsets = future.result(timeout=self._grace + 5)
        except TimeoutError:
            log.warning("kafka.revoke_timeout", partitions=sorted(tps))
            return
        if offsets:
            try:
                consumer.commit(
                    offsets=[KafkaTopicPartition(t, p, o) for (t, p), o in offsets.items()],
                    asynchronous=False,
                )
            except KafkaException as exc:
                log.warning("kafka.revoke_commit_failed", error=str(exc))
        log.info("kafka.revoked", partitions=sorted(tps))

    def _on_lost(self, _: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        if self._loop is None:
            return
        tps = {(p.topic, p.partition) for p in partitions}
        self._holding(set(), tps)
        for tp in tps:
            self._loop.call_soon_threadsafe(self._tracker.forget, tp)
        log.warning("kafka.partitions_lost", partitions=sorted(tps))

    async def _release(self, tps: set[TopicPartition]) -> dict[TopicPartition, int]:
        deadline = asyncio.get_running_loop().time() + self._grace
        while any(self._tracker.in_flight(tp) for tp in tps):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.01)
        offsets = {tp: n for tp, n in self._tracker.committable().items() if tp in tps}
        for tp in tps:
            self._tracker.forget(tp)
        return offsets


def _backoff(attempt: int) -> float:
    """0.1 s doubling to at most 5 s, with up to a quarter of jitter so workers do not align."""
    base = min(RETRY_FIRST_SECONDS * 2.0 ** min(attempt, 16), RETRY_MAX_SECONDS)
    return base * (0.75 + random.random() / 4)


def _headers(record: Message) -> HeaderList:
    """The record's headers as sent, in order, duplicates kept: replies carry them unchanged."""
    raw = record.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in pairs]


def _fetch(consumer: Consumer, most: int, wait: float) -> list[Message]:
    """Waits up to ``wait`` for one record, then takes whatever else is already fetched, up to
    ``most``: records reach the handlers as they arrive. (``consume(most, wait)`` waits for
    ``most`` records or the whole ``wait``, which at 20 records a second held each one for
    most of the poll interval.)"""
    first = consumer.consume(1, wait)
    if not first or most <= 1:
        return list(first)
    return [*first, *consumer.consume(most - 1, 0)]


def _topics_metadata(consumer: Consumer, topics: list[str]) -> dict[str, Any]:
    """Each topic's metadata (one request a topic: a bank's cluster holds thousands of
    others); raises ``KafkaException`` when no broker answers."""
    return {
        topic: consumer.list_topics(topic, timeout=PROBE_TIMEOUT_SECONDS).topics[topic]
        for topic in topics
    }


def _topic_problem(found: dict[str, Any], replies: list[str]) -> str | None:
    """What makes a reply topic unwritable: missing, or a partition without a leader."""
    for topic in replies:
        metadata = found.get(topic)
        if metadata is None or metadata.error is not None:
            return f"the reply topic {topic} does not exist"
        leaderless = sorted(p for p, detail in metadata.partitions.items() if detail.leader < 0)
        if leaderless:
            return f"the reply topic {topic} has partitions without a leader: {leaderless}"
    return None


def _group_members(admin: AdminClient, group: str) -> int | None:
    """How many members the broker counts in ``group``; None when it does not say."""
    try:
        futures = admin.describe_consumer_groups([group], request_timeout=PROBE_TIMEOUT_SECONDS)
        return len(futures[group].result(timeout=PROBE_TIMEOUT_SECONDS + 1).members)
    except (KafkaException, TimeoutError) as exc:
        log.debug("kafka.group_undescribed", error=str(exc))
        return None


async def _bounded(action: Callable[[], object], seconds: float) -> None:
    """Runs a blocking client call in a daemon thread for at most ``seconds``; a call still
    running then is left behind (it cannot hold up the process's exit)."""

    def call() -> None:
        try:
            action()
        except (KafkaException, RuntimeError) as exc:
            log.warning("kafka.shutdown_call_failed", error=str(exc))

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    await asyncio.to_thread(worker.join, seconds)
    if worker.is_alive():
        log.warning("kafka.shutdown_call_timed_out", seconds=round(seconds, 1))
