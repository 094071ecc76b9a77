"""The production OTP repository: one MongoDB document per (clientId, channel) ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from adapters.mongo.client import LEDGERS, Document, StoreFailure, store_error
from adapters.repositories.documents import ledger_from_document, ledger_to_document
from application.ports import StaleLedger
from domain.channel import Channel
from domain.ledger import OtpLedger


def ledger_key(client_id: str, channel: Channel) -> str:
    # The channel has no ':', so the key is unambiguous whatever the client id holds.
    return f"{channel.value}:{client_id}"


def stored_fields(ledger: OtpLedger) -> dict[str, Any]:
    """The document's fields beside ``_id`` and ``version``: the ledger, and its retention as a
    BSON date for the TTL index and the purge."""
    fields = ledger_to_document(ledger)
    del fields["version"]
    fields["retainUntilDate"] = ledger.retain_until
    return fields


class MongoOtpRepository:
    """A ledger is the document ``_id = <channel>:<clientId>`` with a ``version`` field.

    Every change is compare-and-set on MongoDB's single-document atomicity: the first save
    inserts (a duplicate key means another writer won), later saves update only the version
    that was read (no match means another writer won). A read is one look-up by ``_id``.
    ``retainUntilDate`` (a BSON date) drives expiry: a TTL index where the server runs one,
    and ``purge`` everywhere; both only remove a ledger whose code is over and whose sends no
    longer count, because every save moves that date past both.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._ledgers = db[LEDGERS]
        self._db = db

    async def get(self, client_id: str, channel: Channel) -> OtpLedger | None:
        try:
            doc = await self._ledgers.find_one({"_id": ledger_key(client_id, channel)})
        except StoreFailure as exc:
            raise store_error(exc, "The OTP store") from None
        return ledger_from_document(doc) if doc is not None else None

    async def save(self, ledger: OtpLedger) -> None:
        key = ledger_key(ledger.client_id, ledger.channel)
        fields = stored_fields(ledger)
        try:
            if ledger.version == 0:
                await self._ledgers.insert_one({"_id": key, "version": 1, **fields})
            else:
                result = await self._ledgers.update_one(
                    {"_id": key, "version": ledger.version},
                    {"$set": fields, "$inc": {"version": 1}},
                )
                if result.matched_count == 0:
                    raise StaleLedger((ledger.client_id, ledger.channel.value))
        except DuplicateKeyError:
            raise StaleLedger((ledger.client_id, ledger.channel.value)) from None
        except StoreFailure as exc:
            raise store_error(exc, "The OTP store") from None
        ledger.version += 1

    async def purge(self, now: datetime) -> int:
        try:
            result = await self._ledgers.delete_many({"retainUntilDate": {"$lt": now}})
        except StoreFailure as exc:
            raise store_error(exc, "The OTP store") from None
        return result.deleted_count

    async def ping(self) -> None:
        try:
            await self._db.command("ping")
        except StoreFailure as exc:
            raise store_error(exc, "The OTP store") from None
