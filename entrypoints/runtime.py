"""Starting and stopping the wired service, shared by every entrypoint."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import attrs
import structlog

from adapters.kafka.admin import ensure_topics
from adapters.telemetry import Telemetry
from application.events import LifecycleEvents
from application.idempotency import IdempotentReplies
from application.ports import OtpRepository, TemplateStore
from application.use_cases.generate_otp import GenerateOtp
from application.use_cases.purge_expired import PurgeExpired
from application.use_cases.validate_otp import ValidateOtp
from entrypoints.container import (
    Container,
    adapters_of,
    build_container,
    gateways_of,
    kafka_producer_config,
    resolve,
    use_cases_of,
)
from entrypoints.kafka.worker import KafkaWorker
from entrypoints.settings import Settings

log = structlog.get_logger(__name__)


@attrs.frozen
class Services:
    generate: GenerateOtp
    validate: ValidateOtp
    repository: OtpRepository
    # Where templates are read: /readyz says when it holds none.
    templates: TemplateStore
    # Deletes what is past its retention; HTTP's lifespan runs it periodically.
    purge: PurgeExpired
    # Replies kept by request id (Kafka redeliveries, HTTP Idempotency-Key).
    replies: IdempotentReplies
    # This process's metrics and spans (/metrics reads its registry).
    telemetry: Telemetry
    # Lifecycle events, when KAFKA_TOPIC_OTP_EVENTS is set.
    events: LifecycleEvents | None = None
    # The Kafka consumer, when one runs: the service is not ready once it has stopped.
    background: asyncio.Task[None] | None = None
    worker: KafkaWorker | None = None


@attrs.define
class Supervisor:
    """What ``otp serve`` learns of its background work: a consumer that ended on its own
    makes the process exit non-zero, so that an orchestrator restarts it."""

    failed: str | None = None
    on_failure: list[Callable[[], None]] = attrs.field(factory=list)

    def fail(self, reason: str) -> None:
        if self.failed is None:
            self.failed = reason
            log.error("service.failed", reason=reason)
            for callback in self.on_failure:
                callback()


@contextlib.asynccontextmanager
async def running_container(settings: Settings) -> AsyncIterator[Container]:
    # Resources open lazily on first use; shutdown closes those that were opened.
    container = build_container(settings)
    try:
        yield container
    finally:
        stopped = container.shutdown_resources()
        if stopped is not None:
            await stopped


@contextlib.asynccontextmanager
async def running_services(settings: Settings) -> AsyncIterator[Services]:
    async with running_container(settings) as container:
        yield await _services(container)


async def _services(container: Container) -> Services:
    repository = await resolve(adapters_of(container).repository)
    return Services(
        generate=await resolve(use_cases_of(container).generate_otp),
        validate=await resolve(use_cases_of(container).validate_otp),
        repository=repository,
        templates=await resolve(adapters_of(container).templates),
        purge=await resolve(use_cases_of(container).purge_expired),
        replies=await resolve(use_cases_of(container).idempotent_replies),
        telemetry=await resolve(adapters_of(container).telemetry),
        events=await resolve(use_cases_of(container).lifecycle_events),
    )


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, supervisor: Supervisor | None = None
) -> AsyncIterator[Services]:
    """What ``otp serve`` runs beside HTTP: the Kafka worker, when brokers are configured."""
    supervisor = supervisor or Supervisor()
    async with running_container(settings) as container:
        services = await _services(container)
        await _warn_without_templates(services.templates)
        if settings.kafka is None:
            yield services
            return
        if settings.kafka.create_topics:
            await ensure_topics(
                kafka_producer_config(settings.kafka),
                settings.kafka.own_topics,
                settings.kafka.topic_partitions,
                settings.kafka.topic_replication_factor,
            )
        worker = KafkaWorker(
            settings=settings.kafka,
            generate=services.generate,
            validate=services.validate,
            replies=services.replies,
            publisher=await resolve(gateways_of(container).kafka_publisher),
            grace_seconds=settings.shutdown_grace_seconds,
            telemetry=services.telemetry,
            events=services.events,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop), name="kafka-worker")

        def ended(done: asyncio.Task[None]) -> None:
            if stop.is_set():
                return
            failure = None if done.cancelled() else done.exception()
            supervisor.fail(f"the Kafka consumer ended: {failure!r}")

        task.add_done_callback(ended)
        try:
            yield attrs.evolve(services, background=task, worker=worker)
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)


async def _warn_without_templates(templates: TemplateStore) -> None:
    """A store with no template answers every generate TEMPLATE_NOT_FOUND: say so at start."""
    try:
        names = await templates.names()
    except Exception as exc:  # noqa: BLE001 - the store may be down at start; /readyz follows it
        log.warning("templates.unreadable", error=type(exc).__name__)
        return
    if not names:
        log.warning(
            "templates.none",
            hint="the template store holds no template: every generate will answer "
            "TEMPLATE_NOT_FOUND until templates are imported (otp templates import)",
        )
