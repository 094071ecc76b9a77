"""Integration fixtures: real SQLite files, outbox folders and the bundled templates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.templates.file_store import BUNDLED_TEMPLATES
from entrypoints.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "SQLITE_PATH": str(tmp_path / "otp.sqlite3"),
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "TEMPLATES_DIR": str(BUNDLED_TEMPLATES),
            "OTP_HASH_KEY": "69" * 32,
        }
    )


@pytest.fixture
def outbox(settings: Settings) -> Iterator[Path]:
    yield settings.store.outbox_dir
