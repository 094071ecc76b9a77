"""The stored form of a ledger, shared by every repository; it holds hashes, never codes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.channel import Channel
from domain.ledger import OtpLedger
from domain.otp import CodeHash, OneTimePassword, OtpState


def _instant(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


def instant_text(moment: datetime) -> str:
    """Fixed-width UTC text, so stored instants compare correctly as strings."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def otp_to_document(otp: OneTimePassword) -> dict[str, Any]:
    return {
        "id": otp.id,
        "keyId": otp.code_hash.key_id,
        "hash": otp.code_hash.digest,
        "issuedAt": instant_text(otp.issued_at),
        "expiresAt": instant_text(otp.expires_at),
        "attemptsLeft": otp.attempts_left,
        "state": otp.state.value,
        "usedBy": otp.used_by,
    }


def ledger_to_document(ledger: OtpLedger) -> dict[str, Any]:
    return {
        "clientId": ledger.client_id,
        "channel": ledger.channel.value,
        "current": otp_to_document(ledger.current) if ledger.current else None,
        "sends": [instant_text(t) for t in ledger.sends],
        "retainUntil": instant_text(ledger.retain_until) if ledger.retain_until else None,
        "version": ledger.version,
    }


def ledger_from_document(doc: dict[str, Any]) -> OtpLedger:
    channel = Channel(doc["channel"])
    current = doc.get("current")
    otp = None
    if current is not None:
        otp = OneTimePassword(
            id=current["id"],
            client_id=doc["clientId"],
            channel=channel,
            code_hash=CodeHash(key_id=current["keyId"], digest=current["hash"]),
            issued_at=_instant(current["issuedAt"]),
            expires_at=_instant(current["expiresAt"]),
            attempts_left=int(current["attemptsLeft"]),
            state=OtpState(current["state"]),
            used_by=current.get("usedBy"),
        )
    retain = doc.get("retainUntil")
    return OtpLedger(
        client_id=doc["clientId"],
        channel=channel,
        current=otp,
        sends=[_instant(t) for t in doc.get("sends", [])],
        retain_until=_instant(retain) if retain else None,
        version=int(doc.get("version", 0)),
    )
