"""A one-time password: its keyed hash, its lifetime and the rules that judge each try."""

from __future__ import annotations

import enum
import hmac
from datetime import datetime

import attrs

from domain.channel import Channel


@attrs.frozen
class CodeHash:
    """HMAC of a code under the key named ``key_id``; the plain code is never kept."""

    key_id: str
    digest: str

    def matches(self, other: CodeHash) -> bool:
        # compare_digest keeps the comparison constant-time whatever the inputs.
        same_digest = hmac.compare_digest(self.digest.encode(), other.digest.encode())
        return same_digest and self.key_id == other.key_id


class OtpState(enum.Enum):
    ACTIVE = "active"
    USED = "used"
    BURNT = "burnt"
    REPLACED = "replaced"


class Verdict(enum.Enum):
    """The outcome of one try; everything but ACCEPTED maps to an error a caller can act on."""

    ACCEPTED = "accepted"
    MISMATCH = "mismatch"
    EXPIRED = "expired"
    ATTEMPTS_EXCEEDED = "attempts_exceeded"
    NOT_ACTIVE = "not_active"
    LOCKED = "locked"


@attrs.define(kw_only=True)
class OneTimePassword:
    id: str
    client_id: str
    channel: Channel
    code_hash: CodeHash
    issued_at: datetime
    expires_at: datetime
    attempts_left: int
    state: OtpState = OtpState.ACTIVE
    # The request that used the code, so that request, redelivered, is told the same answer.
    used_by: str | None = None
    # A keyed pseudonym of the address the code went to, for validations that name it.
    recipient_ref: str | None = None
    # The template it was sent with, and the provider that took it with that provider's
    # message id (comma-separated parts): what a delivery receipt or a support desk names.
    template: str | None = None
    # The template's language and published version (None from a folder): which text it was.
    template_language: str | None = None
    template_version: int | None = None
    provider: str | None = None
    provider_message_id: str | None = None

    def verify(
        self,
        candidate: CodeHash,
        now: datetime,
        request_id: str | None = None,
        recipient_ref: str | None = None,
    ) -> Verdict:
        """Judges one try and records its effect: success uses the code, a miss costs an attempt.

        A try carrying the ``request_id`` that already used the code is accepted again unchanged:
        it is the same request, redelivered, not a second use. A try naming a recipient
        (``recipient_ref``) other than the one the code went to is a miss like a wrong code.
        """
        if request_id is not None and self.state is OtpState.USED and self.used_by == request_id:
            return Verdict.ACCEPTED
        if self.state is OtpState.BURNT:
            return Verdict.ATTEMPTS_EXCEEDED
        if self.state is not OtpState.ACTIVE:
            return Verdict.NOT_ACTIVE
        if now >= self.expires_at:
            return Verdict.EXPIRED
        same_recipient = recipient_ref is None or hmac.compare_digest(
            recipient_ref, self.recipient_ref or ""
        )
        if not self.code_hash.matches(candidate) or not same_recipient:
            self.attempts_left = max(self.attempts_left - 1, 0)
            if self.attempts_left == 0:
                self.state = OtpState.BURNT
                return Verdict.ATTEMPTS_EXCEEDED
            return Verdict.MISMATCH
        self.state = OtpState.USED
        self.used_by = request_id
        return Verdict.ACCEPTED

    def replace(self) -> None:
        if self.state is OtpState.ACTIVE:
            self.state = OtpState.REPLACED
