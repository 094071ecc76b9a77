"""Each port has its own switch: codes in MongoDB do not force templates into MongoDB."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from starlette.testclient import TestClient

from adapters.mongo.otp_repository import MongoOtpRepository
from adapters.repositories.memory import InMemoryOtpRepository
from adapters.repositories.sqlite import SqliteOtpRepository
from adapters.templates.catalog import VersionedTemplates
from adapters.templates.file_store import BUNDLED_TEMPLATES, FileTemplateStore
from entrypoints.http.app import create_app
from entrypoints.runtime import running_container, running_services
from entrypoints.settings import Settings
from tests.harness import resolve
from tests.integration.servers import fresh_database_name, mongo_uri
from tests.outbox import newest_code

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


MAIL = {
    "templateName": "otp-mail",
    "channel": "MAIL",
    "recipient": "a@example.com",
    "clientId": "c1",
}


def wired(env: dict[str, str]) -> tuple[Any, Any]:
    return wired_settings(Settings.from_env(env))


def wired_settings(settings: Settings) -> tuple[Any, Any]:
    async def resolve_both() -> tuple[Any, Any]:
        async with running_container(settings) as container:
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
            "OTP_LOCAL_KEY_FILE": str(tmp_path / "key"),
        }
    )
    assert isinstance(repository, SqliteOtpRepository)
    assert isinstance(templates, FileTemplateStore)


@pytest.mark.mongo
@pytest.mark.parametrize(
    ("template_store", "expected"),
    # The store's templates keep versions (and serve MongoTemplateStore's documents before them).
    [(None, FileTemplateStore), ("files", FileTemplateStore), ("mongo", VersionedTemplates)],
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


def test_the_store_is_the_plug_in_store_names(tmp_path: Path) -> None:
    """STORE picks an installed store plug-in: the in-memory one keeps codes in the process,
    writes no file, and a code generated over HTTP validates once."""
    settings = Settings.from_env(
        {
            "STORE": "memory",
            "SQLITE_PATH": str(tmp_path / "must-not-exist.sqlite3"),
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "TEMPLATES_DIR": str(BUNDLED_TEMPLATES),
            "OTP_LOCAL_KEY_FILE": str(tmp_path / "key"),
        }
    )
    repository, _ = wired_settings(settings)
    assert isinstance(repository, InMemoryOtpRepository)
    with TestClient(create_app(lambda: running_services(settings))) as client:
        sent = client.post("/v1/otp/generate", json=MAIL).json()
        assert sent["otpSent"] is True
        body = {"clientId": "c1", "channel": "MAIL", "otp": newest_code(tmp_path / "outbox")}
        assert client.post("/v1/otp/validate", json=body).json()["otpValid"] is True
        assert client.post("/v1/otp/validate", json=body).json()["errorCode"] == "OTP_NOT_FOUND"
    assert not (tmp_path / "must-not-exist.sqlite3").exists()
