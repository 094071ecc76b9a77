"""The Kafka side of the engine's topics: the consumer, its group, offsets and back-pressure.

At-least-once: an offset is committed only after the handler finished its record and every
record before it in the partition. Records of one ordering key are handled one after another,
others side by side, up to ``KAFKA_MAX_IN_FLIGHT``; beyond that the partitions pause (never the
polling, or the group evicts the worker). What a record means and how it is answered is the
handler's (``entrypoints/kafka/worker.py``); this module knows Kafka, not the engine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Protocol

import attrs
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient

from adapters.kafka.offsets import OffsetTracker, TopicPartition
from adapters.kafka.ordering import KeyedSequencer
from adapters.kafka.records import header_value, request_id
from adapters.kafka.settings import KafkaSettings
from adapters.kafka.throttle import ClientLog, ThrottledLog
from adapters.telemetry import Telemetry

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.1
# How long the records in flight may stay at KAFKA_MAX_IN_FLIGHT before the partitions pause.
PAUSE_AFTER_SECONDS = 1.0
COMMIT_EVERY_SECONDS = 0.5
PROBE_EVERY_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 2.0
CLOSE_RESERVE_SECONDS = 1.5


@attrs.frozen
class Record:
    """A consumed record, as the handler reads it."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    # As sent, in order, duplicates kept: replies carry them unchanged.
    headers: list[tuple[str, bytes | None]]

    @classmethod
    def of(cls, message: Message) -> Record:
        raw = message.headers() or []
        pairs = raw.items() if isinstance(raw, dict) else raw
        return cls(
            topic=message.topic() or "",
            partition=message.partition() or 0,
            offset=message.offset() or 0,
            timestamp=message.timestamp()[1],
            key=message.key(),
            value=message.value(),
            headers=[(k, v.encode() if isinstance(v, str) else v) for k, v in pairs],
        )

    @property
    def request_id(self) -> str:
        """Stable across redeliveries of this record, distinct for every other record."""
        return request_id(self.topic, self.partition, self.offset, self.timestamp)

    def header(self, name: str) -> bytes | None:
        return header_value(self.headers, name)


class RecordHandler(Protocol):
    def start(self, record: Record) -> tuple[Hashable | None, Coroutine[Any, Any, None]]:
        """The record's ordering key (None: no order to keep) and its handling, which never
        raises; cancelled only at shutdown, when the record stays uncommitted."""
        ...


class KafkaConsumer:
    def __init__(
        self,
        *,
        settings: KafkaSettings,
        telemetry: Telemetry,
        throttle: ThrottledLog,
        grace_seconds: float = 30.0,
    ) -> None:
        self._settings = settings
        self._telemetry = telemetry
        self._throttle = throttle
        self._grace = grace_seconds
        self.topics = [settings.generate_in, settings.validate_in]
        self._replies = sorted({settings.generate_out, settings.validate_out})
        self._tracker = OffsetTracker()
        self._sequencer = KeyedSequencer()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._paused = False
        self._full_since: float | None = None
        self._reassigned = False
        self._last_commit = 0.0
        self.handled = 0
        # Why the broker is not usable, or None; read by /readyz.
        self.broker_problem: str | None = "not connected yet"
        # What the probe found wrong with the topics (a reply topic missing, a partition with
        # no leader); read by /readyz.
        self.topic_problem: str | None = None
        # The partitions held, since when none, and the group's view when none are held.
        self._assigned: set[TopicPartition] = set()
        self._unassigned_since: float | None = time.monotonic()
        self.group_problem: str | None = None
        self._last_record = time.monotonic()
        self._telemetry.kafka_idle_seconds.set_function(
            lambda: time.monotonic() - self._last_record
        )

    def config(self) -> dict[str, Any]:
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
            "topic.metadata.refresh.interval.ms": settings.metadata_refresh_ms,
            "reconnect.backoff.max.ms": 1000,
            "error_cb": self._client_error,
            # The consumer lag per partition, for /metrics.
            "statistics.interval.ms": settings.statistics_interval_ms,
            "stats_cb": self._telemetry.kafka_statistics,
            # librdkafka's own log lines: its warnings join the throttled line for Kafka.
            "logger": ClientLog(self._throttle),
        }

    def _client_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self.broker_problem = "all brokers are down"
        self._throttle.warning(ClientLog.SUBJECT, "kafka.client_error", error=error.str())

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def run(self, stop: asyncio.Event, handler: RecordHandler) -> None:
        """Consumes until ``stop`` is set, then finishes in-flight work within the grace
        period, commits what finished and leaves the group."""
        self._loop = asyncio.get_running_loop()
        consumer = Consumer(self.config())
        consumer.subscribe(
            self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )  # fmt: skip
        log.info("kafka.consuming", topics=self.topics, group=self._settings.group_id)
        prober = asyncio.create_task(self._probe(consumer, stop), name="kafka-probe")
        try:
            while not stop.is_set():
                try:
                    await self._poll_once(consumer, handler)
                    await self._commit(consumer)
                except Exception as exc:  # noqa: BLE001 - nothing may end the consume loop
                    self._throttle.warning("kafka:loop", "kafka.loop_error", error=repr(exc))
                    await asyncio.sleep(POLL_SECONDS)
        finally:
            prober.cancel()
            await self._shutdown(consumer)

    async def _poll_once(self, consumer: Consumer, handler: RecordHandler) -> None:
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
            self._start(Record.of(record), handler)

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
        log.info("kafka.paused" if paused else "kafka.resumed", in_flight=len(self._tasks))

    async def _probe(self, consumer: Consumer, stop: asyncio.Event) -> None:
        """Asks a broker for the topics' metadata every second, so readiness follows the broker
        and the topics both ways; and, while this worker holds no partition, the group."""
        config: dict[str, Any] = {
            **self._settings.client_config(),
            "logger": ClientLog(self._throttle),
        }
        admin = AdminClient(config)
        while not stop.is_set():
            try:
                found = await asyncio.to_thread(
                    _topics_metadata, consumer, [*self.topics, *self._replies]
                )
            except KafkaException:
                self.broker_problem = "no broker answers"
            else:
                self.broker_problem = None
                self.topic_problem = _topic_problem(found, self._replies)
                self.group_problem = await self._check_group(admin, found)
            await asyncio.sleep(PROBE_EVERY_SECONDS)

    async def _check_group(self, admin: AdminClient, found: dict[str, Any]) -> str | None:
        """A worker that has held no partition for KAFKA_UNASSIGNED_READY_SECONDS while its
        group has members, and no more members than partitions (so each should hold one), is
        not consuming: a lost session, a rebalance that does not end."""
        since = self._unassigned_since
        limit = self._settings.unassigned_ready_seconds
        if since is None or time.monotonic() - since < limit:
            return None
        partitions = sum(len(found[t].partitions) for t in self.topics if t in found)
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
        log.info("kafka.stopped", handled=self.handled)

    def _start(self, record: Record, handler: RecordHandler) -> None:
        tp: TopicPartition = (record.topic, record.partition)
        self._tracker.begin(tp, record.offset)
        key, work = handler.start(record)
        task = self._sequencer.submit(key, work)
        self._tasks.add(task)
        self._telemetry.kafka_in_flight.set(len(self._tasks))

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            self._telemetry.kafka_in_flight.set(len(self._tasks))
            if done.cancelled() or done.exception() is not None:
                # Only a shutdown cancels; the handler itself never raises. Left uncommitted.
                return
            self._tracker.finish(tp, record.offset)
            self.handled += 1
            self._last_record = time.monotonic()

        task.add_done_callback(finished)

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
            self.group_problem = None
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
