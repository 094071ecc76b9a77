"""Starting and stopping the wired service, shared by every entrypoint."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Callable

import attrs
import structlog

from application.ports import TemplateStore
from entrypoints.container import Container, build_container, runtime_of
from entrypoints.services import Services
from entrypoints.settings import Settings

log = structlog.get_logger(__name__)


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
    """The root object the container builds: everything below it is given by the container."""
    services = runtime_of(container).services()
    return await services if inspect.isawaitable(services) else services


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, supervisor: Supervisor | None = None
) -> AsyncIterator[Services]:
    """What ``otp serve`` runs beside HTTP: the Kafka worker, when brokers are configured."""
    supervisor = supervisor or Supervisor()
    async with running_container(settings) as container:
        services = await _services(container)
        services.telemetry.configuration.info(dict(services.configuration))
        await _warn_without_templates(services.templates)
        worker = services.worker
        if settings.kafka is None or worker is None:
            yield services
            return
        if settings.kafka.create_topics and services.set_up_topics is not None:
            await services.set_up_topics()
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop), name="kafka-worker")

        def ended(done: asyncio.Task[None]) -> None:
            if stop.is_set():
                return
            failure = None if done.cancelled() else done.exception()
            supervisor.fail(f"the Kafka consumer ended: {failure!r}")

        task.add_done_callback(ended)
        try:
            yield attrs.evolve(services, background=task)
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
