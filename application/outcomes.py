"""What a use case answers: a value saying what happened, never an exception for an expected
outcome. Entrypoints turn it into a reply, each with its own table (HTTP statuses, Kafka)."""

from __future__ import annotations

import enum

import attrs

from domain.errors import (
    DeliveryFailed,
    DependencyUnavailable,
    InvalidRecipient,
    InvalidRequest,
    OtpAttemptsExceeded,
    OtpError,
    OtpExpired,
    OtpLocked,
    OtpMismatch,
    OtpNotFound,
    RateLimited,
    TemplateNotFound,
    TemplateParameterMissing,
    UnsupportedChannel,
    account_locked,
)
from domain.notification import DeliveryResult
from domain.otp import Verdict


class Status(enum.Enum):
    SENT = "sent"  # delivered now, or already (the same request again)
    NOT_DELIVERED = "not_delivered"  # every provider failed; nothing changed
    VALID = "valid"
    NOT_VALID = "not_valid"  # wrong, expired, burnt, or no code
    LIMITED = "limited"  # a cap or a lock: try again later
    INVALID = "invalid"  # the request itself is wrong
    UNAVAILABLE = "unavailable"  # a store or the contention: try again soon


@attrs.frozen(kw_only=True)
class Outcome:
    status: Status
    # What to tell the caller when it did not succeed: a stable code and a sentence.
    error: OtpError | None = None
    delivery: DeliveryResult | None = None
    # The code's id and the template it was sent with, when a code was made or judged.
    otp_id: str | None = None
    template: str | None = None
    # The language and published version of the template a code was sent with (None from a
    # template folder, which has no versions).
    template_language: str | None = None
    template_version: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None

    @property
    def retry_after_seconds(self) -> int | None:
        return getattr(self.error, "retry_after_seconds", None)


_STATUS_OF_ERROR: tuple[tuple[type[OtpError], Status], ...] = (
    (DependencyUnavailable, Status.UNAVAILABLE),
    (RateLimited, Status.LIMITED),
    (OtpLocked, Status.LIMITED),
    (DeliveryFailed, Status.NOT_DELIVERED),
    (InvalidRequest, Status.INVALID),
    (InvalidRecipient, Status.INVALID),
    (UnsupportedChannel, Status.INVALID),
    (TemplateNotFound, Status.INVALID),
    (TemplateParameterMissing, Status.INVALID),
    (OtpMismatch, Status.NOT_VALID),
    (OtpExpired, Status.NOT_VALID),
    (OtpAttemptsExceeded, Status.NOT_VALID),
    (OtpNotFound, Status.NOT_VALID),
)


def refused(error: OtpError) -> Outcome:
    """The outcome of a rule that refused the request (raised inside the domain)."""
    status = next((s for kind, s in _STATUS_OF_ERROR if isinstance(error, kind)), None)
    return Outcome(status=status or Status.UNAVAILABLE, error=error)


def judged(verdict: Verdict, retry_after_seconds: int | None = None) -> Outcome:
    """A validation's verdict as an outcome. The sentences never say how many tries are left:
    that would tell a guesser its budget."""
    if verdict is Verdict.ACCEPTED:
        return Outcome(status=Status.VALID)
    if verdict is Verdict.LOCKED:
        return Outcome(status=Status.LIMITED, error=account_locked(retry_after_seconds))
    error: OtpError = {
        Verdict.MISMATCH: OtpMismatch("The code is wrong."),
        Verdict.EXPIRED: OtpExpired("The code has expired; request a new one."),
        Verdict.ATTEMPTS_EXCEEDED: OtpAttemptsExceeded(
            "Too many wrong attempts; request a new code."
        ),
        Verdict.NOT_ACTIVE: OtpNotFound(
            "There is no active code for this client and channel; request a new one."
        ),
    }[verdict]
    return Outcome(status=Status.NOT_VALID, error=error)
