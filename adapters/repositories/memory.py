"""An in-memory OTP repository with the same optimistic-concurrency contract as the real ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.repositories.documents import ledger_from_document, ledger_to_document
from application.ports import StaleLedger
from domain.channel import Channel
from domain.ledger import OtpLedger


class InMemoryOtpRepository:
    def __init__(self) -> None:
        # Documents, not objects: a caller's later mutation must not leak into the store.
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}

    async def get(self, client_id: str, channel: Channel) -> OtpLedger | None:
        doc = self.documents.get((client_id, channel.value))
        return ledger_from_document(doc) if doc is not None else None

    async def save(self, ledger: OtpLedger) -> None:
        key = (ledger.client_id, ledger.channel.value)
        stored = self.documents.get(key)
        stored_version = stored["version"] if stored is not None else 0
        if stored_version != ledger.version:
            raise StaleLedger(key)
        ledger.version += 1
        self.documents[key] = ledger_to_document(ledger)

    async def purge(self, now: datetime) -> int:
        expired = [
            key
            for key, doc in self.documents.items()
            if doc["retainUntil"] and datetime.fromisoformat(doc["retainUntil"]) < now
        ]
        for key in expired:
            del self.documents[key]
        return len(expired)

    async def ping(self) -> None:
        return None
