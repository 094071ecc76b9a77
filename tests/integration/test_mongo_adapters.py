"""The MongoDB adapters against the real MongoDB-wire server (FerretDB from scripts/services)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from adapters.mongo.client import Document, connect, ensure_indexes
from adapters.mongo.otp_repository import MongoOtpRepository
from adapters.mongo.processed_requests import MongoProcessedRequests
from adapters.mongo.template_store import MongoTemplateStore
from application.ports import StaleLedger
from domain.channel import Channel
from domain.errors import DependencyUnavailable
from domain.ledger import OtpLedger
from entrypoints import dispatch
from tests.harness import MAIL_TEMPLATE, SMS_TEMPLATE, Harness, wrong_code
from tests.integration.servers import fresh_database_name, mongo_uri

pytestmark = [pytest.mark.integration, pytest.mark.mongo]


@pytest.fixture
def mongo_harness() -> Iterator[tuple[Harness, AsyncDatabase[Document]]]:
    harness = Harness()
    client = connect(mongo_uri())
    db = client[fresh_database_name()]
    harness.run(ensure_indexes(db))
    harness.use_repository(MongoOtpRepository(db))
    yield harness, db
    harness.run(client.drop_database(db.name))
    harness.run(client.close())
    harness.close()


def test_a_stale_save_is_refused(mongo_harness: tuple[Harness, Any]) -> None:
    harness, _ = mongo_harness
    harness.generate()
    repo = harness.repository
    first = harness.run(repo.get("c1", Channel.SMS))
    second = harness.run(repo.get("c1", Channel.SMS))
    harness.run(repo.save(first))
    with pytest.raises(StaleLedger):
        harness.run(repo.save(second))


def test_the_unique_index_lets_one_of_two_first_saves_win(
    mongo_harness: tuple[Harness, Any],
) -> None:
    harness, _ = mongo_harness
    repo = harness.repository
    harness.run(repo.save(OtpLedger(client_id="n", channel=Channel.MAIL)))
    with pytest.raises(StaleLedger):
        harness.run(repo.save(OtpLedger(client_id="n", channel=Channel.MAIL)))


def test_thirty_concurrent_validations_of_one_code_accept_exactly_one(
    mongo_harness: tuple[Harness, Any],
) -> None:
    harness, _ = mongo_harness
    harness.generate()
    body = {"clientId": "c1", "channel": "SMS", "otp": harness.last_code()}

    async def thirty() -> list[bool]:
        outcomes = await asyncio.gather(
            *(dispatch.validate(harness.validate_use_case, body) for _ in range(30))
        )
        return [bool(o.reply["otpValid"]) for o in outcomes]

    assert sorted(harness.run(thirty())) == [False] * 29 + [True]


def test_concurrent_wrong_tries_are_each_counted(mongo_harness: tuple[Harness, Any]) -> None:
    harness, _ = mongo_harness
    harness.generate()
    body = {"clientId": "c1", "channel": "SMS", "otp": wrong_code(harness.last_code())}

    async def tries() -> list[str]:
        outcomes = await asyncio.gather(
            *(dispatch.validate(harness.validate_use_case, body) for _ in range(8))
        )
        return [str(o.reply["errorCode"]) for o in outcomes]

    codes = harness.run(tries())
    assert (codes.count("OTP_MISMATCH"), codes.count("OTP_ATTEMPTS_EXCEEDED")) == (4, 4)


def test_documents_hold_the_hash_never_the_code(mongo_harness: tuple[Harness, Any]) -> None:
    harness, db = mongo_harness
    harness.generate()
    code = harness.last_code()
    documents = harness.run(db["otp_ledgers"].find({}).to_list())
    assert documents and all(d["ledger"]["current"]["hash"] for d in documents)
    assert code not in repr(documents)


def test_purge_removes_what_is_past_retention(mongo_harness: tuple[Harness, Any]) -> None:
    harness, _ = mongo_harness
    harness.generate(clientId="old")
    harness.advance(300)
    harness.generate(clientId="new")
    harness.advance(400)
    assert harness.run(harness.repository.purge(harness.clock.now())) >= 1
    assert harness.run(harness.repository.get("old", Channel.SMS)) is None
    assert harness.run(harness.repository.get("new", Channel.SMS)) is not None


def test_processed_replies_keep_the_first_answer(mongo_harness: tuple[Harness, Any]) -> None:
    harness, db = mongo_harness
    processed = MongoProcessedRequests(db)
    now = harness.clock.now()
    harness.run(processed.put("r1", {"otpSent": True}, now + timedelta(hours=1)))
    harness.run(processed.put("r1", {"otpSent": False}, now + timedelta(hours=1)))
    assert harness.run(processed.get("r1")) == {"otpSent": True}
    assert harness.run(processed.get("r2")) is None
    assert harness.run(processed.purge(now + timedelta(hours=2))) == 1
    assert harness.run(processed.get("r1")) is None


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
