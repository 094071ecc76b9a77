"""Answers the engine's generate and validate records on the reply topics.

Every record ends in exactly one way (docs/reliability.md): its reply; or, when it cannot be
answered normally, a dead-letter record plus an error reply when it can be correlated; or a
wait, with backoff, while a dependency is down. Only ``DependencyUnavailable`` is waited for;
every other failure is permanent for that record, and the offset moves on. Effects are
idempotent per record (docs/decisions.md), so a redelivery re-sends the same reply and never a
second code. The consumer (``adapters/kafka/consumer.py``) brings the records, keeps their
order per (clientId, channel) and commits each offset once its record is answered.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import structlog
from opentelemetry.trace import SpanKind

from application.events import LifecycleEvents
from application.idempotency import IdempotentReplies
from application.use_cases.generate_otp import GenerateOtp
from application.use_cases.validate_otp import ValidateOtp
from domain.errors import DependencyUnavailable, InternalError, InvalidRequest, OtpError
from entrypoints import dispatch
from entrypoints.kafka.records import (
    PROCESS_INSTANCE_ID,
    ordering_key,
    process_instance_id,
)
from entrypoints.logging import loggable

if TYPE_CHECKING:
    from adapters.kafka.consumer import KafkaConsumer, Record
    from adapters.kafka.records import RecordWriter
    from adapters.kafka.settings import KafkaSettings
    from adapters.kafka.throttle import ThrottledLog
    from adapters.telemetry import Telemetry

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Stored for a dead-lettered record that had nobody to answer, so a redelivery is skipped.
DEAD_LETTERED = {"deadLettered": True}
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
        consumer: KafkaConsumer,
        generate: GenerateOtp,
        validate: ValidateOtp,
        replies: IdempotentReplies,
        writer: RecordWriter,
        telemetry: Telemetry,
        throttle: ThrottledLog,
        events: LifecycleEvents | None = None,
    ) -> None:
        self._settings = settings
        self._consumer = consumer
        self._generate = generate
        self._validate = validate
        self._replies = replies
        self._writer = writer
        self._telemetry = telemetry
        self._throttle = throttle
        self._events = events
        self._routes = {
            settings.generate_in: Route("generate", settings.generate_out, "otpSent"),
            settings.validate_in: Route("validate", settings.validate_out, "otpValid"),
        }
        self.dead_lettered = 0
        # The last failed reply per topic; read by /readyz.
        self._reply_failures: dict[str, str] = {}

    def readiness_problem(self) -> str | None:
        """Why the Kafka entrypoint cannot answer the engine now, or None."""
        consumer = self._consumer
        for problem in (consumer.broker_problem, consumer.topic_problem):
            if problem is not None:
                return f"Kafka: {problem}"
        for topic, failure in sorted(self._reply_failures.items()):
            return f"Kafka: replies to {topic} fail: {failure}"
        return consumer.group_problem

    @property
    def in_flight(self) -> int:
        return self._consumer.in_flight

    async def run(self, stop: asyncio.Event) -> None:
        """Answers records until ``stop`` is set; then the consumer drains within its grace."""
        await self._consumer.run(stop, self)
        log.info("kafka.answered", dead_lettered=self.dead_lettered)

    def start(self, record: Record) -> tuple[Hashable | None, Coroutine[Any, Any, None]]:
        prepared = self._prepare(record)
        return prepared.key, self._handle(record, prepared)

    def _prepare(self, record: Record) -> Prepared:
        value = record.value
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

    async def _handle(self, record: Record, prepared: Prepared) -> None:
        route = self._routes[record.topic]
        rid = record.request_id
        body = prepared.body or {}
        started = time.perf_counter()
        # Every line logged for this record carries its correlation (a task's own context).
        structlog.contextvars.bind_contextvars(
            entrypoint="kafka",
            operation=route.kind,
            process_instance_id=loggable(process_instance_id(record.headers)),
            request_id=rid,
            template=loggable(body.get("templateName")),
            channel=loggable(body.get("channel")),
        )
        with self._telemetry.span(
            f"otp.{route.kind}",
            self._telemetry.carrier(record.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.kafka.message.offset": record.offset,
                "messaging.destination.partition.id": str(record.partition),
            },
        ) as span:
            structlog.contextvars.bind_contextvars(trace_id=self._telemetry.trace_id())
            outcome = await self._reply(record, prepared, route, rid)
            span.set_attribute("otp.outcome", outcome)
        elapsed = time.perf_counter() - started
        self._telemetry.kafka_records.labels(record.topic, outcome).inc()
        self._telemetry.requests.labels("kafka", route.kind, outcome).inc()
        self._telemetry.request_seconds.labels("kafka", route.kind).observe(elapsed)
        log.info(
            "kafka.handled",
            partition=record.partition,
            offset=record.offset,
            outcome=outcome,
            duration_ms=round(elapsed * 1000, 2),
        )

    async def _reply(
        self,
        record: Record,
        prepared: Prepared,
        route: Route,
        rid: str,
    ) -> str:
        """Answers the record; returns its outcome: OK, an error code, or dead_letter."""
        try:
            # The record's id is its own fingerprint: one id, one record.
            reply = await self._retry(self._replies.kept, rid, rid)
            steps = []
            if reply is None:
                reply, error = await self._answer(record, prepared, route, rid)
                # Keeping the reply and sending it run side by side: a crash between the two is
                # answered the same way on redelivery either way (the ledger knows this
                # request's code and its use), so neither needs to wait for the other.
                steps.append(self._retry(self._replies.keep, rid, rid, reply, error))
            if reply != DEAD_LETTERED:
                steps.append(self._publish_reply(record, route, reply))
            await asyncio.gather(*steps)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - permanent for this record: give it up
            await self._give_up(record, route, exc)
            return "dead_letter"
        if reply == DEAD_LETTERED:
            return "dead_letter"
        return str(reply.get("errorCode") or "OK")

    async def _answer(
        self, record: Record, prepared: Prepared, route: Route, rid: str
    ) -> tuple[dict[str, Any], OtpError | None]:
        """The reply and its error (None for success), or DEAD_LETTERED when no reply can go."""
        instance = process_instance_id(record.headers)
        if prepared.body is None:
            problem = prepared.problem or "The record cannot be read."
            await self._dead_letter(record, problem)
            if record.header(PROCESS_INSTANCE_ID) is None:
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
            await self._dead_letter(record, outcome.error.message)
        return outcome.reply, outcome.error

    async def _publish_reply(self, record: Record, route: Route, reply: dict[str, Any]) -> None:
        topic = route.reply_topic

        async def publish() -> None:
            try:
                await self._writer.reply(record, topic, reply)
            except OtpError as exc:
                self._reply_failures[topic] = exc.message  # /readyz says so until one goes
                raise
            self._reply_failures.pop(topic, None)

        await self._retry(publish)

    async def _dead_letter(self, record: Record, reason: str) -> None:
        log.warning("kafka.dead_letter", topic=record.topic, offset=record.offset, reason=reason)
        await self._retry(self._writer.dead_letter, record, reason)
        self.dead_lettered += 1
        self._telemetry.kafka_dead_letters.labels(record.topic).inc()

    async def _give_up(self, record: Record, route: Route, exc: Exception) -> None:
        """A record whose handling failed for good: dead-letter it and, when the engine can be
        told, say INTERNAL_ERROR. Failures here are logged, never raised: the offset moves on."""
        reason = exc.message if isinstance(exc, OtpError) else type(exc).__name__
        log.error("kafka.record_failed", topic=record.topic, offset=record.offset, reason=reason)
        try:
            await self._dead_letter(record, reason)
        except Exception as failed:  # noqa: BLE001 - the dead-letter topic refused it too
            log.error("kafka.dead_letter_failed", offset=record.offset, error=repr(failed))
        if record.header(PROCESS_INSTANCE_ID) is None:
            return
        error = InternalError("The service could not handle the request.")
        reply = dispatch.invalid(None, error, route.flag, process_instance_id(record.headers))
        try:
            await self._publish_reply(record, route, reply)
        except Exception as failed:  # noqa: BLE001 - nothing more can be done for this record
            log.error("kafka.error_reply_failed", offset=record.offset, error=repr(failed))

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


def _backoff(attempt: int) -> float:
    """0.1 s doubling to at most 5 s, with up to a quarter of jitter so workers do not align."""
    base = min(RETRY_FIRST_SECONDS * 2.0 ** min(attempt, 16), RETRY_MAX_SECONDS)
    return base * (0.75 + random.random() / 4)
