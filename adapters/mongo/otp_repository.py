"""The production OTP repository: the versions of each (clientId, channel) ledger in MongoDB."""

from __future__ import annotations

from datetime import datetime

from pymongo import DESCENDING
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


class MongoOtpRepository:
    """Each save inserts the ledger's next version; the unique index on (clientId, channel,
    version) lets exactly one of two racing writers insert it, and a read takes the newest.

    Why inserts and not a conditional update: a unique-key insert is atomic on every
    MongoDB-wire server, while FerretDB's conditional updates (``findAndModify`` included) let
    two racing writers both match under load (docs/decisions.md). Versions of a ledger are
    few (bounded by the send cap and the attempt limit) and go when it is purged.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._ledgers = db[LEDGERS]
        self._db = db

    async def get(self, client_id: str, channel: Channel) -> OtpLedger | None:
        try:
            doc = await self._ledgers.find_one(
                {"clientId": client_id, "channel": channel.value}, sort=[("version", DESCENDING)]
            )
        except PyMongoError as exc:
            raise _unavailable(exc) from None
        return ledger_from_document(doc) if doc is not None else None

    async def save(self, ledger: OtpLedger) -> None:
        doc = ledger_to_document(ledger)
        doc["version"] = ledger.version + 1
        doc["retainUntilDate"] = ledger.retain_until
        try:
            await self._ledgers.insert_one(doc)
        except DuplicateKeyError:
            raise StaleLedger((ledger.client_id, ledger.channel.value)) from None
        except PyMongoError as exc:
            raise _unavailable(exc) from None
        ledger.version += 1

    async def purge(self, now: datetime) -> int:
        try:
            result = await self._ledgers.delete_many({"retainUntilDate": {"$lt": now}})
        except PyMongoError as exc:
            raise _unavailable(exc) from None
        return result.deleted_count

    async def ping(self) -> None:
        try:
            await self._db.command("ping")
        except PyMongoError as exc:
            raise _unavailable(exc) from None
