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
        "recipientRef": otp.recipient_ref,
        "template": otp.template,
        "templateLanguage": otp.template_language,
        "templateVersion": otp.template_version,
        "provider": otp.provider,
        "providerMessageId": otp.provider_message_id,
    }


def ledger_to_document(ledger: OtpLedger) -> dict[str, Any]:
    return {
        "clientId": ledger.client_id,
        "channel": ledger.channel.value,
        "current": otp_to_document(ledger.current) if ledger.current else None,
        "sends": [instant_text(t) for t in ledger.sends],
        "pending": [otp_to_document(p) for p in ledger.pending],
        "delivered": list(ledger.delivered),
        "failures": [instant_text(t) for t in ledger.failures],
        "wrongTries": [instant_text(t) for t in ledger.wrong_tries],
        "consecutiveFailures": ledger.consecutive_failures,
        "locked": ledger.locked,
        "retainUntil": instant_text(ledger.retain_until) if ledger.retain_until else None,
        "version": ledger.version,
    }


def otp_from_document(doc: dict[str, Any], client_id: str, channel: Channel) -> OneTimePassword:
    return OneTimePassword(
        id=doc["id"],
        client_id=client_id,
        channel=channel,
        code_hash=CodeHash(key_id=doc["keyId"], digest=doc["hash"]),
        issued_at=_instant(doc["issuedAt"]),
        expires_at=_instant(doc["expiresAt"]),
        attempts_left=int(doc["attemptsLeft"]),
        state=OtpState(doc["state"]),
        used_by=doc.get("usedBy"),
        recipient_ref=doc.get("recipientRef"),
        template=doc.get("template"),
        template_language=doc.get("templateLanguage"),
        template_version=doc.get("templateVersion"),
        provider=doc.get("provider"),
        provider_message_id=doc.get("providerMessageId"),
    )


def ledger_from_document(doc: dict[str, Any]) -> OtpLedger:
    channel = Channel.named(doc["channel"])
    client_id = doc["clientId"]
    current = doc.get("current")
    retain = doc.get("retainUntil")
    return OtpLedger(
        client_id=client_id,
        channel=channel,
        current=otp_from_document(current, client_id, channel) if current else None,
        sends=[_instant(t) for t in doc.get("sends", [])],
        pending=[otp_from_document(p, client_id, channel) for p in doc.get("pending", [])],
        delivered=list(doc.get("delivered", [])),
        failures=[_instant(t) for t in doc.get("failures", [])],
        wrong_tries=[_instant(t) for t in doc.get("wrongTries", [])],
        consecutive_failures=int(doc.get("consecutiveFailures", 0)),
        locked=bool(doc.get("locked", False)),
        retain_until=_instant(retain) if retain else None,
        version=int(doc.get("version", 0)),
    )
