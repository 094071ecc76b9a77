"""Store plug-ins: where codes, kept replies and send counters live is a package that registers
an object under the ``otp_service.stores`` entry-point group, chosen by ``STORE``. SQLite,
MongoDB and the in-memory store are registered the same way. See docs/extending.md."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import attrs

from adapters.settings import Branch
from adapters.store_settings import StoreSettings
from application.ports import (
    OtpRepository,
    ProcessedRequests,
    SendCounters,
    TemplateCatalog,
    TemplateStore,
)

GROUP = "otp_service.stores"


@attrs.frozen
class Stores:
    """What a store keeps: the ledgers of codes, the replies kept for retries, the send
    counters, and templates when it can hold them too (``TEMPLATE_STORE`` set to its name)."""

    repository: OtpRepository
    processed: ProcessedRequests
    counters: SendCounters
    templates: TemplateStore | None = None
    # The same templates with their drafts and versions (docs/templates.md).
    catalog: TemplateCatalog | None = None


class NoSettings(Branch):
    """The branch of a store whose variables are the service's own (``StoreSettings``)."""


@runtime_checkable
class StorePlugin(Protocol):
    name: str
    # Several processes may share its codes: then they must hash with the same keys.
    shared: bool
    # Whether it keeps templates (``TEMPLATE_STORE`` may name it).
    keeps_templates: bool
    # Its own settings branch, read from the environment at start with the others.
    settings: type[Branch]

    def open(self, settings: Any, store: StoreSettings) -> AbstractAsyncContextManager[Stores]:
        """The stores, open while the service runs."""
        ...


@functools.cache
def store_plugins() -> dict[str, StorePlugin]:
    """The installed store plug-ins, by name."""
    found: dict[str, StorePlugin] = {}
    for entry in entry_points(group=GROUP):
        plugin = entry.load()
        if not isinstance(plugin, StorePlugin):
            raise TypeError(f"the entry point {entry.name} of {GROUP} is not a store plug-in")
        if found.setdefault(plugin.name, plugin) is not plugin:
            raise TypeError(f"two plug-ins are named the store {plugin.name}")
    return dict(sorted(found.items()))


def store_problems(store: StoreSettings) -> list[str]:
    """``STORE`` must name an installed store; ``TEMPLATE_STORE``, ``files`` or that store when
    it keeps templates."""
    plugins = store_plugins()
    if store.kind not in plugins:
        return [f"STORE names no installed store (installed: {', '.join(plugins)})"]
    if store.templates != "files" and (
        store.templates != store.kind or not plugins[store.kind].keeps_templates
    ):
        return ["TEMPLATE_STORE must be files, or the store (STORE) when it keeps templates"]
    return []


async def open_stores(store: StoreSettings, settings: Mapping[str, Any]) -> AsyncIterator[Stores]:
    """The chosen store, open until the container shuts down."""
    plugin = store_plugins()[store.kind]
    async with plugin.open(settings[plugin.name], store) as stores:
        yield stores
