"""The MongoDB adapters against the real MongoDB-wire server that scripts/services starts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from adapters.clock import ManualClock
from adapters.mongo.client import Document, connect, ensure_indexes
from adapters.mongo.otp_repository import MongoOtpRepository
from adapters.mongo.processed_requests import MongoProcessedRequests
from adapters.mongo.template_store import MongoTemplateStore
from domain.channel import Channel
from domain.errors import DependencyUnavailable
from tests.harness import MAIL_TEMPLATE, SMS_TEMPLATE, Harness
from tests.integration.servers import fresh_database_name, mongo_uri

pytestmark = [pytest.mark.integration, pytest.mark.mongo]


class CommandCounter(monitoring.CommandListener):
    """Records the name of every command the driver sends."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


@pytest.fixture
def mongo_harness() -> Iterator[tuple[Harness, AsyncDatabase[Document]]]:
    harness = Harness()
    # Real time: a MongoDB TTL monitor must not see the test's documents as long expired.
    harness.clock = ManualClock(datetime.now(UTC))
    client = connect(mongo_uri())
    db = client[fresh_database_name()]
    harness.run(ensure_indexes(db))
    harness.use_repository(MongoOtpRepository(db))
    yield harness, db
    harness.run(client.drop_database(db.name))
    harness.run(client.close())
    harness.close()


def test_documents_hold_the_hash_never_the_code(mongo_harness: tuple[Harness, Any]) -> None:
    harness, db = mongo_harness
    harness.generate()
    code = harness.last_code()
    documents = harness.run(db["otp_ledgers"].find({}).to_list())
    assert documents and all(d["current"]["hash"] for d in documents)
    assert code not in repr(documents)


def test_a_ledger_is_one_document_changed_in_place(mongo_harness: tuple[Harness, Any]) -> None:
    harness, db = mongo_harness
    harness.generate()
    harness.advance(60)
    harness.generate()
    assert harness.validate(harness.last_code())["otpValid"] is True
    documents = harness.run(db["otp_ledgers"].find({}).to_list())
    # Two saves per generate (pending, then delivered), one for the validation.
    assert [(d["_id"], d["version"]) for d in documents] == [("SMS:c1", 5)]
    retain = documents[0]["retainUntilDate"]
    assert isinstance(retain, datetime) and retain > harness.clock.now()


def test_a_read_is_one_round_trip_however_often_the_ledger_changed(
    mongo_harness: tuple[Harness, Any],
) -> None:
    harness, db = mongo_harness
    counting = CommandCounter()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongo_uri(), tz_aware=True, event_listeners=[counting]
    )
    repository = MongoOtpRepository(client[db.name])
    for _ in range(5):
        harness.generate()
        harness.advance(31)
    counting.commands.clear()
    ledger = harness.run(repository.get("c1", Channel.SMS))
    assert ledger.version == 10
    assert counting.commands == ["find"]
    harness.run(client.close())


def test_processed_replies_keep_the_first_answer(mongo_harness: tuple[Harness, Any]) -> None:
    harness, db = mongo_harness
    processed = MongoProcessedRequests(db)
    now = harness.clock.now()
    harness.run(processed.put("r1", {"otpSent": True}, now + timedelta(hours=1), now))
    harness.run(processed.put("r1", {"otpSent": False}, now + timedelta(hours=1), now))
    assert harness.run(processed.get("r1", now)) == {"otpSent": True}
    assert harness.run(processed.get("r2", now)) is None
    # A reply whose time is over is not seen, and the next one takes its place.
    later = now + timedelta(hours=2)
    assert harness.run(processed.get("r1", later)) is None
    harness.run(processed.put("r1", {"otpSent": False}, later + timedelta(hours=1), later))
    assert harness.run(processed.get("r1", later)) == {"otpSent": False}
    gone = later + timedelta(hours=2)
    assert harness.run(processed.purge(gone)) == 1
    assert harness.run(processed.get("r1", gone)) is None


def test_templates_round_trip_and_are_listed(mongo_harness: tuple[Harness, Any]) -> None:
    harness, db = mongo_harness
    store = MongoTemplateStore(db)
    harness.run(store.upsert(MAIL_TEMPLATE))
    harness.run(store.upsert(SMS_TEMPLATE))
    harness.run(store.upsert(SMS_TEMPLATE))
    assert harness.run(store.find("otp-mail", "en")) == MAIL_TEMPLATE
    assert harness.run(store.find("otp-mail", "fr")) is None
    assert harness.run(store.names()) == ["otp-mail", "otp-sms"]
    assert harness.run(store.languages("otp-sms")) == ["en"]


def test_an_unreachable_server_is_dependency_unavailable() -> None:
    async def probe() -> None:
        client = connect("mongodb://127.0.0.1:9/otp", timeout_ms=300)
        try:
            await MongoOtpRepository(client["otp"]).ping()
        finally:
            await client.close()

    with pytest.raises(DependencyUnavailable):
        asyncio.run(probe())
