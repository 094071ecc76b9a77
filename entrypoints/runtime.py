"""Starting and stopping the wired service, shared by every entrypoint."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator

from entrypoints.container import Container, resolve
from entrypoints.http.app import Services
from entrypoints.settings import Settings


@contextlib.asynccontextmanager
async def running_container(settings: Settings) -> AsyncIterator[Container]:
    # Resources open lazily on first use; shutdown closes those that were opened.
    container = Container(settings=settings)
    try:
        yield container
    finally:
        stopped = container.shutdown_resources()
        if inspect.isawaitable(stopped):
            await stopped


@contextlib.asynccontextmanager
async def running_services(settings: Settings) -> AsyncIterator[Services]:
    async with running_container(settings) as container:
        yield Services(
            generate=await resolve(container.use_cases.generate_otp),
            validate=await resolve(container.use_cases.validate_otp),
            repository=await resolve(container.adapters.repository),
        )
