"""The policy every code obeys (CONTRACT §2)."""

from __future__ import annotations

from datetime import timedelta

import attrs


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

    def __attrs_post_init__(self) -> None:
        if self.ttl <= timedelta(0) or self.send_window <= timedelta(0):
            raise ValueError("the OTP lifetime and the send window must be positive")
        if self.resend_cooldown < timedelta(0):
            raise ValueError("the resend cooldown must not be negative")
