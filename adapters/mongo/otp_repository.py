"""The production OTP repository: the versions of each (clientId, channel) ledger in MongoDB."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from adapters.mongo.client import LEDGERS, Document
from adapters.repositories.documents import ledger_from_document, ledger_to_document
from application.ports import StaleLedger
from domain.channel import Channel
from domain.errors import DependencyUnavailable
from domain.ledger import OtpLedger


def _unavailable(exc: PyMongoError) -> DependencyUnavailable:
    return DependencyUnavailable(f"The OTP store is unavailable: {type(exc).__name__}.")


def ledger_key(client_id: str, channel: Channel) -> str:
    # The channel has no ':', so the key is unambiguous whatever the client id holds.
    return f"{channel.value}:{client_id}"


def version_id(key: str, version: int) -> str:
    return f"{key}#{version:010d}"


class MongoOtpRepository:
    """Each save inserts the ledger's next version under ``_id = <key>#<version>``: of two
    racing writers exactly one inserts it. A read walks the versions from the first to the
    newest; a ledger has few (bounded by the send cap and the attempt limit) and all go when
    it is purged.

    Why inserts and not a conditional update: a unique-key insert is atomic on every
    MongoDB-wire server, while FerretDB's conditional updates (``findAndModify`` included) let
    two racing writers both match under load. Why ``_id`` lookups only: FerretDB answers them
    from its primary key in ~2 ms and scans the collection for other filters and for updates
    (docs/decisions.md).
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._versions = db[LEDGERS]
        self._db = db

    async def get(self, client_id: str, channel: Channel) -> OtpLedger | None:
        key = ledger_key(client_id, channel)
        newest: dict[str, Any] | None = None
        try:
            while True:
                version = newest["version"] + 1 if newest is not None else 1
                following = await self._versions.find_one({"_id": version_id(key, version)})
                if following is None:
                    break
                newest = following["ledger"]
        except PyMongoError as exc:
            raise _unavailable(exc) from None
        return ledger_from_document(newest) if newest is not None else None

    async def save(self, ledger: OtpLedger) -> None:
        key = ledger_key(ledger.client_id, ledger.channel)
        doc = ledger_to_document(ledger)
        doc["version"] = ledger.version + 1
        try:
            await self._versions.insert_one(
                {
                    "_id": version_id(key, doc["version"]),
                    "ledger": doc,
                    "retainUntilDate": ledger.retain_until,
                }
            )
        except DuplicateKeyError:
            raise StaleLedger((ledger.client_id, ledger.channel.value)) from None
        except PyMongoError as exc:
            raise _unavailable(exc) from None
        ledger.version += 1

    async def purge(self, now: datetime) -> int:
        try:
            result = await self._versions.delete_many({"retainUntilDate": {"$lt": now}})
        except PyMongoError as exc:
            raise _unavailable(exc) from None
        return result.deleted_count

    async def ping(self) -> None:
        try:
            await self._db.command("ping")
        except PyMongoError as exc:
            raise _unavailable(exc) from None
