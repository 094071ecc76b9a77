"""One hierarchy of domain errors, each with the stable code of CONTRACT §4."""

from __future__ import annotations

from typing import ClassVar


class OtpError(Exception):
    """An error a caller can act on; ``message`` never holds a secret."""

    code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(OtpError):
    code = "INVALID_REQUEST"


class AlreadyReceived(InvalidRequest):
    """A signed message taken once already (a replayed status callback): HTTP 409."""


class UnsupportedChannel(OtpError):
    code = "UNSUPPORTED_CHANNEL"


class InvalidRecipient(OtpError):
    code = "INVALID_RECIPIENT"


class TemplateNotFound(OtpError):
    code = "TEMPLATE_NOT_FOUND"


class InvalidTemplate(OtpError):
    """A template an editor saved or published that cannot be served (the management API)."""

    code = "TEMPLATE_INVALID"


class TemplateConflict(OtpError):
    """Someone else changed the template since the editor read it: read it again."""

    code = "TEMPLATE_CONFLICT"


class TemplateParameterMissing(OtpError):
    code = "TEMPLATE_PARAMETER_MISSING"

    def __init__(self, keys: list[str]) -> None:
        names = ", ".join(repr(k) for k in keys)
        super().__init__(f"The template needs the parameter(s) {names}; add them to 'data'.")
        self.keys = keys


class TemplateParameterInvalid(InvalidRequest):
    """A declared parameter whose value is not of its type (a number, a date)."""


class RateLimited(OtpError):
    """``limit`` names the limit that fired, for the metric: ``recipient``, ``caller``,
    ``sms_prefix``, ``sms_country``, ``sms_budget``, or ``client`` (the per-clientId policy)."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_seconds: int, limit: str = "client") -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.limit = limit


class DeliveryFailed(OtpError):
    code = "DELIVERY_FAILED"


class OtpNotFound(OtpError):
    code = "OTP_NOT_FOUND"


class OtpExpired(OtpError):
    code = "OTP_EXPIRED"


class OtpMismatch(OtpError):
    code = "OTP_MISMATCH"


class OtpAttemptsExceeded(OtpError):
    code = "OTP_ATTEMPTS_EXCEEDED"


class OtpLocked(OtpError):
    """Too many wrong tries across codes: for a while (``retry_after_seconds``), or until an
    operator unlocks the account (``retry_after_seconds`` None)."""

    code = "OTP_LOCKED"

    def __init__(self, message: str, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


def account_locked(retry_after_seconds: int | None) -> OtpLocked:
    """The refusal while an account is locked: for a while, or until an operator unlocks it."""
    if retry_after_seconds is None:
        return OtpLocked(
            "Too many wrong codes: this account is locked until an operator unlocks it."
        )
    return OtpLocked(
        f"Too many wrong codes: try again in {retry_after_seconds} s.",
        retry_after_seconds=retry_after_seconds,
    )


class Unauthorized(OtpError):
    code = "UNAUTHORIZED"


class Forbidden(OtpError):
    """A known caller asking for what its key may not do (its scopes): HTTP 403."""

    code = "FORBIDDEN"


class InternalError(OtpError):
    code = "INTERNAL_ERROR"


class DependencyUnavailable(InternalError):
    """A store or provider the service needs is down; callers may retry later."""
