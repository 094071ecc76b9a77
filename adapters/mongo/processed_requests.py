"""Replies already given, in MongoDB, keyed by request id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from adapters.mongo.client import PROCESSED, Document, StoreFailure, store_error


class MongoProcessedRequests:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._replies = db[PROCESSED]

    async def get(self, request_id: str, now: datetime) -> dict[str, Any] | None:
        try:
            doc = await self._replies.find_one({"_id": request_id, "keepUntil": {"$gte": now}})
        except StoreFailure as exc:
            raise store_error(exc, "The reply store") from None
        return dict(doc["reply"]) if doc is not None else None

    async def put(
        self, request_id: str, reply: dict[str, Any], keep_until: datetime, now: datetime
    ) -> None:
        # One atomic write: a reply whose time is over is replaced; with a live one the upsert
        # finds no match, tries to insert the same _id and is refused (the first reply stands).
        try:
            await self._replies.update_one(
                {"_id": request_id, "keepUntil": {"$lt": now}},
                {"$set": {"reply": reply, "keepUntil": keep_until}},
                upsert=True,
            )
        except DuplicateKeyError:
            return
        except StoreFailure as exc:
            raise store_error(exc, "The reply store") from None

    async def purge(self, now: datetime) -> int:
        try:
            result = await self._replies.delete_many({"keepUntil": {"$lt": now}})
        except StoreFailure as exc:
            raise store_error(exc, "The reply store") from None
        return result.deleted_count
