"""HTTP's table of outcomes: the status each error code gets (200 whenever the use case ran to a
verdict). How long a reply answers a repeat of its ``Idempotency-Key`` is the application's one
rule for both transports (application/idempotency.py)."""

from __future__ import annotations

from domain.errors import (
    DeliveryFailed,
    DependencyUnavailable,
    Forbidden,
    InternalError,
    InvalidRecipient,
    InvalidRequest,
    InvalidTemplate,
    OtpAttemptsExceeded,
    OtpError,
    OtpExpired,
    OtpLocked,
    OtpMismatch,
    OtpNotFound,
    RateLimited,
    TemplateConflict,
    TemplateNotFound,
    TemplateParameterMissing,
    Unauthorized,
    UnsupportedChannel,
)

STATUS_BY_CODE: dict[str | None, int] = {
    None: 200,
    InvalidRequest.code: 400,
    Unauthorized.code: 401,
    Forbidden.code: 403,
    InvalidTemplate.code: 422,
    TemplateConflict.code: 409,
    UnsupportedChannel.code: 422,
    InvalidRecipient.code: 422,
    TemplateNotFound.code: 422,
    TemplateParameterMissing.code: 422,
    RateLimited.code: 429,
    OtpLocked.code: 429,
    # The use case ran; the body says what happened.
    DeliveryFailed.code: 200,
    OtpNotFound.code: 200,
    OtpExpired.code: 200,
    OtpMismatch.code: 200,
    OtpAttemptsExceeded.code: 200,
    InternalError.code: 500,
}


def status_for(error: OtpError | None) -> int:
    if isinstance(error, DependencyUnavailable):
        return 503
    return STATUS_BY_CODE.get(error.code if error else None, 500)


def status_of_reply(error_code: str | None) -> int:
    """The status of a kept reply, replayed for its Idempotency-Key."""
    return STATUS_BY_CODE.get(error_code, 500)
