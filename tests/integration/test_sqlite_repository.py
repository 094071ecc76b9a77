"""The SQLite repository at rest; its contract with the other stores is tested beside it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import aiosqlite
import pytest

from adapters.repositories.sqlite import SqliteOtpRepository, open_sqlite
from tests.harness import Harness

pytestmark = pytest.mark.integration


@pytest.fixture
def sqlite_harness(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness()
    connection: aiosqlite.Connection = harness.run(open_sqlite(tmp_path / "otp.sqlite3"))
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
