"""Each port has its own switch: codes in MongoDB do not force templates into MongoDB."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from adapters.mongo.otp_repository import MongoOtpRepository
from adapters.mongo.template_store import MongoTemplateStore
from adapters.repositories.sqlite import SqliteOtpRepository
from adapters.templates.file_store import BUNDLED_TEMPLATES, FileTemplateStore
from entrypoints.container import resolve
from entrypoints.runtime import running_container
from entrypoints.settings import Settings
from tests.integration.servers import fresh_database_name, mongo_uri

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def wired(env: dict[str, str]) -> tuple[Any, Any]:
    async def resolve_both() -> tuple[Any, Any]:
        async with running_container(Settings.from_env(env)) as container:
            return (
                await resolve(container.adapters.repository),
                await resolve(container.adapters.templates),
            )

    return asyncio.run(resolve_both())


def test_the_embedded_default_uses_sqlite_and_the_template_folder(tmp_path: Path) -> None:
    repository, templates = wired(
        {
            "SQLITE_PATH": str(tmp_path / "otp.sqlite3"),
            "TEMPLATES_DIR": str(BUNDLED_TEMPLATES),
            "OTP_HASH_KEY_FILE": str(tmp_path / "key"),
        }
    )
    assert isinstance(repository, SqliteOtpRepository)
    assert isinstance(templates, FileTemplateStore)


@pytest.mark.mongo
@pytest.mark.parametrize(
    ("template_store", "expected"),
    [(None, FileTemplateStore), ("files", FileTemplateStore), ("mongo", MongoTemplateStore)],
)
def test_codes_in_mongodb_with_templates_where_the_setting_says(
    template_store: str | None, expected: type, tmp_path: Path
) -> None:
    database = fresh_database_name()
    env = {
        "MONGODB_URI": mongo_uri().rsplit("/", 1)[0] + f"/{database}",
        "DELIVERY": "outbox",
        "OTP_HASH_KEY": "69" * 32,
        "TEMPLATES_DIR": str(BUNDLED_TEMPLATES),
        "SQLITE_PATH": str(tmp_path / "must-not-exist.sqlite3"),
    }
    if template_store is not None:
        env["TEMPLATE_STORE"] = template_store
    try:
        repository, templates = wired(env)
    finally:
        client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri())
        with client:
            client.drop_database(database)
    assert isinstance(repository, MongoOtpRepository)
    assert isinstance(templates, expected)
    assert not (tmp_path / "must-not-exist.sqlite3").exists()
