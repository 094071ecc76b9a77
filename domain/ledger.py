"""What the service keeps for one (clientId, channel): its live code and its recent sends."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import attrs

from domain.channel import Channel
from domain.errors import RateLimited
from domain.otp import CodeHash, OneTimePassword, Verdict
from domain.policy import OtpPolicy


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


@attrs.define(kw_only=True)
class OtpLedger:
    """One document per (clientId, channel), so every rule holds with single-document atomicity.

    ``version`` is bumped by the repository on each save; a save whose version is stale is refused,
    which is how concurrent validations of one code let exactly one succeed.
    """

    client_id: str
    channel: Channel
    current: OneTimePassword | None = None
    sends: list[datetime] = attrs.field(factory=list)
    retain_until: datetime | None = None
    version: int = 0

    def issue(self, otp: OneTimePassword, policy: OtpPolicy, now: datetime) -> bool:
        """Makes ``otp`` the one live code, after the resend cooldown and the send cap allow it.

        Returns False, changing nothing, when ``otp`` is already the live code: the request that
        issued it was redelivered, and issuing it again must neither count nor replace.
        """
        if self.current is not None and self.current.id == otp.id:
            return False
        recent = sorted(t for t in self.sends if now - t < policy.send_window)
        if recent and now - recent[-1] < policy.resend_cooldown:
            wait = recent[-1] + policy.resend_cooldown - now
            raise RateLimited(
                f"A code was sent moments ago; wait {_seconds(wait)} s before asking again.",
                retry_after_seconds=_seconds(wait),
            )
        if len(recent) >= policy.max_sends:
            wait = recent[-policy.max_sends] + policy.send_window - now
            raise RateLimited(
                f"Too many codes were sent; try again in {_seconds(wait)} s.",
                retry_after_seconds=_seconds(wait),
            )
        if self.current is not None:
            self.current.replace()
        self.current = otp
        self.sends = [*recent, now]
        # Kept while the code can be used or a send still counts against the caps; then purgeable.
        self.retain_until = max(otp.expires_at, now + policy.send_window)
        return True

    def verify(self, candidate: CodeHash, now: datetime, request_id: str | None = None) -> Verdict:
        if self.current is None:
            return Verdict.NOT_ACTIVE
        return self.current.verify(candidate, now, request_id)
