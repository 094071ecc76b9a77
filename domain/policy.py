"""The policy every code obeys (CONTRACT §2)."""

from __future__ import annotations

from datetime import timedelta

import attrs

DAY = timedelta(days=1)
MONTH = timedelta(days=30)


@attrs.frozen(kw_only=True)
class OtpPolicy:
    length: int = attrs.field(
        default=6, validator=[attrs.validators.ge(4), attrs.validators.le(10)]
    )
    ttl: timedelta = timedelta(seconds=600)
    max_attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    resend_cooldown: timedelta = timedelta(seconds=30)
    max_sends: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    send_window: timedelta = timedelta(seconds=600)
    # Delivery attempts (delivered and failed) per window: a recipient whose deliveries keep
    # failing cannot be used to hammer a provider, yet a failure starts no cooldown.
    max_delivery_attempts: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    # Wrong tries per (clientId, channel) across codes: per 24 h, and per 30 days. A new code
    # resets neither, and neither may exceed NIST SP 800-63B's 100.
    max_failures_per_day: int = attrs.field(
        default=20, validator=[attrs.validators.ge(1), attrs.validators.le(100)]
    )
    max_failures_per_month: int = attrs.field(
        default=100, validator=[attrs.validators.ge(1), attrs.validators.le(100)]
    )
    # Consecutive wrong tries in all (a success resets them) before the account stays locked
    # until an operator unlocks it (NIST SP 800-63B §5.2.2).
    max_consecutive_failures: int = attrs.field(
        default=100, validator=[attrs.validators.ge(1), attrs.validators.le(100)]
    )

    def __attrs_post_init__(self) -> None:
        if self.ttl <= timedelta(0) or self.send_window <= timedelta(0):
            raise ValueError("the OTP lifetime and the send window must be positive")
        if self.resend_cooldown < timedelta(0):
            raise ValueError("the resend cooldown must not be negative")
