"""The SQLite repository: compare-and-set saves, concurrency, purging, no plain codes at rest."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from adapters.repositories.sqlite import SqliteOtpRepository, open_sqlite
from application.ports import StaleLedger
from domain.channel import Channel
from domain.ledger import OtpLedger
from entrypoints import dispatch
from tests.harness import Harness, wrong_code

pytestmark = pytest.mark.integration


@pytest.fixture
def sqlite_harness(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness()
    connection: aiosqlite.Connection = harness.run(open_sqlite(tmp_path / "otp.sqlite3"))
    harness.use_repository(SqliteOtpRepository(connection))
    yield harness
    harness.run(connection.close())
    harness.close()


def test_a_stale_save_is_refused(sqlite_harness: Harness) -> None:
    repo = sqlite_harness.repository
    sqlite_harness.generate()
    first = sqlite_harness.run(repo.get("c1", Channel.SMS))
    second = sqlite_harness.run(repo.get("c1", Channel.SMS))
    sqlite_harness.run(repo.save(first))
    with pytest.raises(StaleLedger):
        sqlite_harness.run(repo.save(second))


def test_two_first_saves_of_one_ledger_let_only_one_win(sqlite_harness: Harness) -> None:
    repo = sqlite_harness.repository
    sqlite_harness.run(repo.save(OtpLedger(client_id="n", channel=Channel.MAIL)))
    with pytest.raises(StaleLedger):
        sqlite_harness.run(repo.save(OtpLedger(client_id="n", channel=Channel.MAIL)))


def test_thirty_concurrent_validations_of_one_code_accept_exactly_one(
    sqlite_harness: Harness,
) -> None:
    sqlite_harness.generate()
    code = sqlite_harness.last_code()

    async def thirty() -> list[dict[str, object]]:
        body = {"clientId": "c1", "channel": "SMS", "otp": code}
        outcomes = await asyncio.gather(
            *(dispatch.validate(sqlite_harness.validate_use_case, body) for _ in range(30))
        )
        return [o.reply for o in outcomes]

    replies = sqlite_harness.run(thirty())
    assert sum(r["otpValid"] is True for r in replies) == 1
    assert {r["errorCode"] for r in replies if not r["otpValid"]} == {"OTP_NOT_FOUND"}


def test_concurrent_wrong_tries_are_each_counted(sqlite_harness: Harness) -> None:
    sqlite_harness.generate()
    bad = wrong_code(sqlite_harness.last_code())

    async def tries() -> list[dict[str, object]]:
        body = {"clientId": "c1", "channel": "SMS", "otp": bad}
        outcomes = await asyncio.gather(
            *(dispatch.validate(sqlite_harness.validate_use_case, body) for _ in range(8))
        )
        return [o.reply for o in outcomes]

    codes = [r["errorCode"] for r in sqlite_harness.run(tries())]
    assert codes.count("OTP_MISMATCH") == 4
    assert codes.count("OTP_ATTEMPTS_EXCEEDED") == 4


def test_no_stored_row_holds_the_plain_code(sqlite_harness: Harness, tmp_path: Path) -> None:
    sqlite_harness.generate()
    code = sqlite_harness.last_code()
    rows = sqlite3.connect(tmp_path / "otp.sqlite3").execute("SELECT * FROM otp_ledgers").fetchall()
    assert rows
    assert code not in repr(rows)


def test_purge_removes_only_ledgers_past_their_retention(sqlite_harness: Harness) -> None:
    sqlite_harness.generate(clientId="old")
    sqlite_harness.advance(300)
    sqlite_harness.generate(clientId="new")
    sqlite_harness.advance(400)
    repo = sqlite_harness.repository
    removed = sqlite_harness.run(repo.purge(sqlite_harness.clock.now()))
    assert removed == 1
    assert sqlite_harness.run(repo.get("old", Channel.SMS)) is None
    assert sqlite_harness.run(repo.get("new", Channel.SMS)) is not None
    sqlite_harness.clock.advance(timedelta(seconds=300))
    assert sqlite_harness.run(repo.purge(sqlite_harness.clock.now())) == 1
