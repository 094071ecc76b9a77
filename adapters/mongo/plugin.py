"""MongoDB as a store plug-in: codes, kept replies, counters, and templates when asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.mongo.client import connect, database, ensure_indexes
from adapters.mongo.otp_repository import MongoOtpRepository
from adapters.mongo.processed_requests import MongoProcessedRequests
from adapters.mongo.send_counters import MongoSendCounters
from adapters.mongo.template_records import MongoRecords
from adapters.mongo.template_store import MongoTemplateStore
from adapters.store_settings import StoreSettings
from adapters.stores import NoSettings, Stores
from adapters.templates.catalog import VersionedTemplates


class MongoPlugin:
    name = "mongo"
    shared = True
    keeps_templates = True
    settings = NoSettings

    @asynccontextmanager
    async def open(self, settings: NoSettings, store: StoreSettings) -> AsyncIterator[Stores]:
        if store.mongodb_uri is None:
            raise ValueError("STORE=mongo needs MONGODB_URI")
        client = connect(store.mongodb_uri, store.mongodb_timeout_ms)
        try:
            db = database(client, store.mongodb_database)
            await ensure_indexes(db)
            templates = VersionedTemplates(MongoRecords(db), earlier=MongoTemplateStore(db))
            yield Stores(
                MongoOtpRepository(db),
                MongoProcessedRequests(db),
                MongoSendCounters(db),
                templates,
                templates,
            )
        finally:
            await client.close()


PLUGIN = MongoPlugin()
