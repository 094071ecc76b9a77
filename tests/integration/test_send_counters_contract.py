"""One contract for every store of send counts: in memory, SQLite and MongoDB."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from adapters.codes import HmacPseudonyms
from adapters.mongo.client import connect, ensure_indexes
from adapters.mongo.send_counters import MongoSendCounters
from adapters.repositories.memory_counters import InMemorySendCounters
from adapters.repositories.sqlite import open_sqlite
from adapters.repositories.sqlite_counters import SqliteSendCounters
from application.limits import SendLimits
from application.ports import SendCounters
from domain.channel import Channel
from domain.errors import RateLimited
from domain.limits import Cap, SendCaps
from domain.recipient import Recipient
from tests.integration.servers import fresh_database_name, mongo_uri

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
VICTIM = Recipient(Channel.SMS, "+40722123456", calling_code=40)


@pytest.fixture(params=["memory", "sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def counters(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SendCounters]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if request.param == "memory":
        yield InMemorySendCounters()
    elif request.param == "sqlite":
        connection = loop.run_until_complete(open_sqlite(tmp_path / "otp.sqlite3"))
        yield SqliteSendCounters(connection)
        loop.run_until_complete(connection.close())
    else:
        client = connect(mongo_uri())
        db = client[fresh_database_name()]
        loop.run_until_complete(ensure_indexes(db))
        yield MongoSendCounters(db)
        loop.run_until_complete(client.drop_database(db.name))
        loop.run_until_complete(client.close())
    loop.close()


T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.get_event_loop().run_until_complete(coroutine)


def limits(counters: SendCounters, per_recipient: int) -> SendLimits:
    caps = SendCaps(
        per_recipient=Cap(per_recipient, timedelta(hours=1)),
        per_caller=Cap(0, timedelta(minutes=1)),
        per_sms_country=Cap(0, timedelta(hours=1)),
        sms_budget=Cap(0, timedelta(days=1)),
    )
    return SendLimits(counters, HmacPseudonyms(b"k" * 32), caps)


async def _admitted(capped: SendLimits, tries: int) -> int:
    async def one() -> bool:
        try:
            await capped.admit(VICTIM, "engine", NOW)
        except RateLimited:
            return False
        return True

    return sum(await asyncio.gather(*(one() for _ in range(tries))))


def test_forty_concurrent_sends_to_one_recipient_admit_exactly_the_cap(
    counters: SendCounters,
) -> None:
    capped = limits(counters, 10)
    assert run(_admitted(capped, 40)) == 10
    # The 30 refusals gave their counts back: the stored total is the cap, not 40.
    buckets = run(counters.add("probe", 1, NOW))
    assert buckets == {1: 1}
    assert run(_admitted(capped, 5)) == 0


def test_counts_leave_with_their_window_and_the_purge(counters: SendCounters) -> None:
    cap = Cap(2, timedelta(seconds=60))
    bucket = cap.bucket_of(NOW)
    for _ in range(2):
        buckets = run(counters.add("k", bucket, cap.keep_until(bucket)))
    assert cap.retry_after(buckets, NOW) is None
    later = cap.bucket_of(NOW + timedelta(seconds=30))
    buckets = run(counters.add("k", later, cap.keep_until(later)))
    assert cap.retry_after(buckets, NOW + timedelta(seconds=30)) is not None
    run(counters.remove("k", later))
    assert run(counters.purge(NOW + timedelta(seconds=200))) >= 1
    assert run(counters.add("k", bucket, cap.keep_until(bucket))) == {bucket: 1}


def test_an_amount_is_added_and_taken_back_whole(counters: SendCounters) -> None:
    # The SMS budget counts parts: a three-part SMS adds three, its refusal takes three back.
    keep = NOW + timedelta(hours=2)
    assert run(counters.add("budget", 7, keep, 3)) == {7: 3}
    assert run(counters.add("budget", 7, keep, 2)) == {7: 5}
    run(counters.remove("budget", 7, 3))
    assert run(counters.add("budget", 7, keep)) == {7: 3}
