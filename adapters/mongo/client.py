"""Opening the database and creating the indexes every MongoDB adapter relies on."""

from __future__ import annotations

from typing import Any

import structlog
from bson.errors import BSONError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)

from domain.errors import DependencyUnavailable, InternalError, OtpError

log = structlog.get_logger(__name__)

Document = dict[str, Any]

LEDGERS = "otp_ledgers"
PROCESSED = "processed_requests"
TEMPLATES = "templates"
TEMPLATE_RECORDS = "template_records"
COUNTERS = "send_counts"


# Server answers that mean "not now" (elections, shutdown, overload), not "never".
TRANSIENT_CODES = frozenset(
    {6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 46841, 50915}
)

StoreFailure = (PyMongoError, BSONError)


def store_error(exc: PyMongoError | BSONError, store: str) -> OtpError:
    """Classifies a driver error once: ``DependencyUnavailable`` (retry while the server is
    away) or ``InternalError`` (the server or the driver refused this operation for good)."""
    name = type(exc).__name__
    if isinstance(exc, ConnectionFailure | ExecutionTimeout | WTimeoutError):
        return DependencyUnavailable(f"{store} is unavailable: {name}.")
    if isinstance(exc, PyMongoError) and (
        exc.has_error_label("RetryableWriteError")
        or (isinstance(exc, OperationFailure) and exc.code in TRANSIENT_CODES)
    ):
        return DependencyUnavailable(f"{store} is unavailable: {name}.")
    return InternalError(f"{store} refused the operation: {name}.")


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
        await _ttl_index(db, COUNTERS, "keepUntil")
    except StoreFailure as exc:
        raise store_error(exc, "MongoDB") from None
