"""Templates with versions in MongoDB: one document per template name (``_id``), replaced
whole by compare-and-set on ``revision``, which MongoDB does atomically for one document."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from adapters.mongo.client import TEMPLATE_RECORDS, StoreFailure, store_error
from adapters.templates.catalog import Document

STORE = "The template store"


class MongoRecords:
    """The ``RecordTable`` of ``VersionedTemplates`` in MongoDB."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._records = db[TEMPLATE_RECORDS]

    async def get(self, name: str) -> Document | None:
        try:
            return await self._records.find_one({"_id": name}, {"_id": 0})
        except StoreFailure as exc:
            raise store_error(exc, STORE) from None

    async def served(self, name: str) -> Document | None:
        # Serving a request reads the current texts only, never the history.
        try:
            doc = await self._records.find_one({"_id": name}, {"_id": 0, "served": 1})
        except StoreFailure as exc:
            raise store_error(exc, STORE) from None
        return doc.get("served") if doc is not None else None

    async def all(self) -> list[Document]:
        try:
            return [doc async for doc in self._records.find({}, {"_id": 0}).sort("_id", 1)]
        except StoreFailure as exc:
            raise store_error(exc, STORE) from None

    async def published(self) -> list[str]:
        try:
            published = self._records.find({"served": {"$ne": None}}, {"_id": 1})
            return sorted([doc["_id"] async for doc in published])
        except StoreFailure as exc:
            raise store_error(exc, STORE) from None

    async def insert(self, document: Document) -> bool:
        try:
            await self._records.insert_one({"_id": document["name"], **document})
        except DuplicateKeyError:
            return False
        except StoreFailure as exc:
            raise store_error(exc, STORE) from None
        return True

    async def replace(self, document: Document, revision: int) -> bool:
        try:
            done = await self._records.replace_one(
                {"_id": document["name"], "revision": revision},
                {"_id": document["name"], **document},
            )
        except StoreFailure as exc:
            raise store_error(exc, STORE) from None
        return done.matched_count == 1
