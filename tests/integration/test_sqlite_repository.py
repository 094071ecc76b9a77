"""The SQLite repository at rest; its contract with the other stores is tested beside it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.repositories.sqlite import (
    SqliteFile,
    SqliteOtpRepository,
    open_sqlite,
)
from domain.channel import Channel
from domain.ledger import OtpLedger
from tests.harness import Harness

pytestmark = pytest.mark.integration


@pytest.fixture
def sqlite_harness(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness()
    connection: SqliteFile = harness.run(open_sqlite(tmp_path / "otp.sqlite3"))
    harness.use_repository(SqliteOtpRepository(connection))
    yield harness
    harness.run(connection.close())
    harness.close()


def test_no_stored_row_holds_the_plain_code(sqlite_harness: Harness, tmp_path: Path) -> None:
    sqlite_harness.generate()
    code = sqlite_harness.last_code()
    rows = sqlite3.connect(tmp_path / "otp.sqlite3").execute("SELECT * FROM otp_ledgers").fetchall()
    assert rows
    assert code not in repr(rows)


def test_a_write_behind_another_writers_lock_waits_off_the_event_loop(tmp_path: Path) -> None:
    """Statements run on the event loop's thread; one that meets another process's write lock
    runs again on the worker thread, which waits for the lock while the loop goes on."""

    async def scenario() -> tuple[int, float, int]:
        database = await open_sqlite(tmp_path / "otp.sqlite3")
        repository = SqliteOtpRepository(database)
        other = sqlite3.connect(tmp_path / "otp.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another --workers process in the middle of a write
        ticks = 0

        async def ticking() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(ticking())
        ledger = OtpLedger(client_id="c1", channel=Channel.SMS)
        started = time.perf_counter()
        save = asyncio.create_task(repository.save(ledger))
        await asyncio.sleep(0.3)
        assert not save.done()  # still waiting for the lock, not failed
        other.execute("COMMIT")
        await save
        waited = time.perf_counter() - started
        ticker.cancel()
        stored = await repository.get("c1", Channel.SMS)
        await database.close()
        other.close()
        return ticks, waited, stored.version if stored else 0

    ticks, waited, version = asyncio.run(scenario())
    assert waited >= 0.3
    assert ticks >= 10  # the loop ran on while the save waited
    assert version == 1


def test_checkpoints_keep_the_write_ahead_log_bounded(tmp_path: Path) -> None:
    """The loop's connection leaves checkpoints to the worker thread: after many writes the
    log has been copied back into the file and started again from its beginning."""

    async def scenario() -> int:
        database = await open_sqlite(tmp_path / "otp.sqlite3")
        repository = SqliteOtpRepository(database)
        for i in range(2000):
            await repository.save(OtpLedger(client_id=f"c{i}", channel=Channel.SMS))
            await asyncio.sleep(0)  # as a request does between its statements
        await asyncio.sleep(0.2)  # the last checkpoint started
        # Measured while the connections are open: closing the last one checkpoints anyway.
        size = (tmp_path / "otp.sqlite3-wal").stat().st_size
        await database.close()
        return size

    # Without checkpoints the log holds the pages of all 2,000 writes: about 27 MB.
    assert asyncio.run(scenario()) < 8 * 1024 * 1024
