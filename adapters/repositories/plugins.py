"""The SQLite store (the embedded default) and the in-memory store as store plug-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.repositories.memory import InMemoryOtpRepository
from adapters.repositories.memory_counters import InMemorySendCounters
from adapters.repositories.memory_processed import InMemoryProcessedRequests
from adapters.repositories.sqlite import SqliteOtpRepository, open_sqlite
from adapters.repositories.sqlite_counters import SqliteSendCounters
from adapters.repositories.sqlite_processed import SqliteProcessedRequests
from adapters.repositories.sqlite_templates import SqliteRecords
from adapters.store_settings import StoreSettings
from adapters.stores import NoSettings, Stores
from adapters.templates.catalog import MemoryRecords, VersionedTemplates


class SqlitePlugin:
    name = "sqlite"
    shared = False
    keeps_templates = True
    settings = NoSettings

    @asynccontextmanager
    async def open(self, settings: NoSettings, store: StoreSettings) -> AsyncIterator[Stores]:
        database = await open_sqlite(store.sqlite_path)
        templates = VersionedTemplates(SqliteRecords(database))
        try:
            yield Stores(
                SqliteOtpRepository(database),
                SqliteProcessedRequests(database),
                SqliteSendCounters(database),
                templates,
                templates,
            )
        finally:
            await database.close()


class MemoryPlugin:
    """For trying the service and for tests: one process, nothing survives a restart."""

    name = "memory"
    shared = False
    keeps_templates = True
    settings = NoSettings

    @asynccontextmanager
    async def open(self, settings: NoSettings, store: StoreSettings) -> AsyncIterator[Stores]:
        templates = VersionedTemplates(MemoryRecords())
        yield Stores(
            InMemoryOtpRepository(),
            InMemoryProcessedRequests(),
            InMemorySendCounters(),
            templates,
            templates,
        )


SQLITE = SqlitePlugin()
MEMORY = MemoryPlugin()
