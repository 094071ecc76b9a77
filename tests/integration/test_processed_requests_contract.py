"""One contract for every store of kept replies: in memory, SQLite and MongoDB. A reply is live
until its time is over; the first live reply stands, and one whose time is over is replaced."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.mongo.client import connect, ensure_indexes
from adapters.mongo.processed_requests import MongoProcessedRequests
from adapters.repositories.memory_processed import InMemoryProcessedRequests
from adapters.repositories.sqlite import open_sqlite
from adapters.repositories.sqlite_processed import SqliteProcessedRequests
from application.ports import ProcessedRequests
from tests.integration.servers import fresh_database_name, mongo_uri

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
MINUTE = timedelta(minutes=1)


@pytest.fixture(params=["memory", "sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def processed(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ProcessedRequests, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    if request.param == "memory":
        yield InMemoryProcessedRequests(), loop
    elif request.param == "sqlite":
        connection = loop.run_until_complete(open_sqlite(tmp_path / "otp.sqlite3"))
        yield SqliteProcessedRequests(connection), loop
        loop.run_until_complete(connection.close())
    else:
        client = connect(mongo_uri())
        db = client[fresh_database_name()]
        loop.run_until_complete(ensure_indexes(db))
        yield MongoProcessedRequests(db), loop
        loop.run_until_complete(client.drop_database(db.name))
        loop.run_until_complete(client.close())
    loop.close()


def test_the_first_live_reply_stands_and_an_expired_one_is_replaced(
    processed: tuple[ProcessedRequests, asyncio.AbstractEventLoop],
) -> None:
    store, loop = processed

    async def scenario() -> list[dict[str, Any] | None]:
        await store.put("r", {"n": 1}, NOW + MINUTE, NOW)
        await store.put("r", {"n": 2}, NOW + MINUTE, NOW)  # a redelivery: the first stands
        seen = [await store.get("r", NOW), await store.get("other", NOW)]
        later = NOW + 2 * MINUTE
        seen.append(await store.get("r", later))  # its time is over
        await store.put("r", {"n": 3}, later + MINUTE, later)
        seen.append(await store.get("r", later))
        return seen

    assert loop.run_until_complete(scenario()) == [{"n": 1}, None, None, {"n": 3}]
