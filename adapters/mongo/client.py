"""Opening the database and creating the indexes every MongoDB adapter relies on."""

from __future__ import annotations

from typing import Any

import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

from domain.errors import DependencyUnavailable

log = structlog.get_logger(__name__)

Document = dict[str, Any]

LEDGERS = "otp_ledgers"
PROCESSED = "processed_requests"
TEMPLATES = "templates"


def connect(uri: str, timeout_ms: int = 5000) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="otp-service",
    )


def database(client: AsyncMongoClient[Document], name: str | None) -> AsyncDatabase[Document]:
    return client.get_default_database(default=name or "otp")


async def _ttl_index(db: AsyncDatabase[Document], collection: str, field: str) -> bool:
    try:
        await db[collection].create_index(field, expireAfterSeconds=0)
    except OperationFailure as exc:
        # Some MongoDB-wire servers refuse TTL indexes (and some accept one without running it):
        # the periodic purge covers both, so expiry never depends on the server's TTL monitor.
        log.info("mongo.ttl_index_unsupported", collection=collection, reason=exc.code)
        await db[collection].create_index(field)
        return False
    return True


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    """Creates the unique and expiry indexes; idempotent, run at start-up."""
    try:
        # Uniqueness and look-ups come from _id everywhere; these indexes serve expiry only.
        await _ttl_index(db, LEDGERS, "retainUntilDate")
        await _ttl_index(db, PROCESSED, "keepUntil")
    except PyMongoError as exc:
        raise DependencyUnavailable(f"MongoDB is unavailable: {type(exc).__name__}.") from None
