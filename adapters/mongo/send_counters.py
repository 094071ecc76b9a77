"""Send counts in MongoDB: one document per key, one field per bucket, changed by ``$inc``."""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from adapters.mongo.client import COUNTERS, Document, StoreFailure, store_error
from domain.limits import BUCKETS_PER_WINDOW

# A key's document drops the buckets out of its window once it holds this many.
PRUNE_AT = 2 * BUCKETS_PER_WINDOW


class MongoSendCounters:
    """``add`` is one ``find_one_and_update`` (atomic on the document, so every worker sees every
    send); buckets past their window are dropped now and then, and whole keys by the purge."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._counts = db[COUNTERS]

    async def add(
        self, key: str, bucket: int, keep_until: datetime, amount: int = 1
    ) -> dict[int, int]:
        try:
            doc = await self._counts.find_one_and_update(
                {"_id": key},
                {"$inc": {f"b.{bucket}": amount}, "$max": {"keepUntil": keep_until}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            buckets = {int(b): int(n) for b, n in (doc or {}).get("b", {}).items()}
            # A bucket counts until keep_until, so one older than that span before this one is out.
            span = keep_until.timestamp() - bucket
            stale = [b for b in buckets if b < bucket - span]
            if len(buckets) > PRUNE_AT and stale:
                await self._counts.update_one(
                    {"_id": key}, {"$unset": {f"b.{b}": "" for b in stale}}
                )
        except StoreFailure as exc:
            raise store_error(exc, "The send counts") from None
        return buckets

    async def remove(self, key: str, bucket: int, amount: int = 1) -> None:
        try:
            await self._counts.update_one({"_id": key}, {"$inc": {f"b.{bucket}": -amount}})
        except StoreFailure as exc:
            raise store_error(exc, "The send counts") from None

    async def purge(self, now: datetime) -> int:
        try:
            result = await self._counts.delete_many({"keepUntil": {"$lt": now}})
        except StoreFailure as exc:
            raise store_error(exc, "The send counts") from None
        return result.deleted_count
