"""A one-time password: its keyed hash, its lifetime and the rules that judge each try."""

from __future__ import annotations

import enum
import hmac
from datetime import datetime

import attrs

from domain.channel import Channel
from domain.errors import OtpAttemptsExceeded, OtpError, OtpExpired, OtpMismatch, OtpNotFound


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

    def error(self, attempts_left: int = 0) -> OtpError | None:
        if self is Verdict.MISMATCH:
            return OtpMismatch(f"The code is wrong; {attempts_left} attempt(s) left.")
        if self is Verdict.EXPIRED:
            return OtpExpired("The code has expired; request a new one.")
        if self is Verdict.ATTEMPTS_EXCEEDED:
            return OtpAttemptsExceeded("Too many wrong attempts; request a new code.")
        if self is Verdict.NOT_ACTIVE:
            return OtpNotFound(
                "There is no active code for this client and channel; request a new one."
            )
        return None


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

    def verify(self, candidate: CodeHash, now: datetime, request_id: str | None = None) -> Verdict:
        """Judges one try and records its effect: success uses the code, a miss costs an attempt.

        A try carrying the ``request_id`` that already used the code is accepted again unchanged:
        it is the same request, redelivered, not a second use.
        """
        if request_id is not None and self.state is OtpState.USED and self.used_by == request_id:
            return Verdict.ACCEPTED
        if self.state is OtpState.BURNT:
            return Verdict.ATTEMPTS_EXCEEDED
        if self.state is not OtpState.ACTIVE:
            return Verdict.NOT_ACTIVE
        if now >= self.expires_at:
            return Verdict.EXPIRED
        if not self.code_hash.matches(candidate):
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
