"""Which HTTP status each outcome gets: 200 whenever the use case ran to a verdict."""

from __future__ import annotations

from domain.errors import (
    DependencyUnavailable,
    InvalidRecipient,
    InvalidRequest,
    OtpError,
    OtpLocked,
    RateLimited,
    TemplateNotFound,
    TemplateParameterMissing,
    UnsupportedChannel,
)

_BY_ERROR: tuple[tuple[type[OtpError], int], ...] = (
    (InvalidRequest, 400),
    (UnsupportedChannel, 422),
    (InvalidRecipient, 422),
    (TemplateNotFound, 422),
    (TemplateParameterMissing, 422),
    (RateLimited, 429),
    (OtpLocked, 429),
    (DependencyUnavailable, 503),
)


def status_for(error: OtpError | None) -> int:
    if error is None:
        return 200
    for kind, status in _BY_ERROR:
        if isinstance(error, kind):
            return status
    if error.code == "INTERNAL_ERROR":
        return 500
    # DELIVERY_FAILED and the OTP_* verdicts: the use case ran; the body says what happened.
    return 200
