"""What the service keeps for one (clientId, channel): its live code and its recent sends."""

from __future__ import annotations

import enum
import math
from datetime import UTC, datetime, timedelta

import attrs

from domain.channel import Channel
from domain.errors import RateLimited, account_locked
from domain.otp import CodeHash, OneTimePassword, Verdict
from domain.policy import DAY, MONTH, OtpPolicy

# A locked account is kept until an operator unlocks it.
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


class Issuance(enum.Enum):
    """What ``OtpLedger.begin`` decided for a code about to be sent."""

    SEND = "send"  # a new pending code: deliver it
    RESEND = "resend"  # this very code is pending (its request came again): deliver it again
    DELIVERED = "delivered"  # this very code was delivered already: send nothing


@attrs.define(kw_only=True)
class OtpLedger:
    """One document per (clientId, channel), so every rule holds with single-document atomicity.

    Issuing a code takes two steps. ``begin`` records it as *pending*; only ``confirm``, once
    the provider accepted the delivery, makes it the live code and counts it against the resend
    cooldown and the send cap. ``fail`` drops a pending code whose delivery failed: the live
    code stays valid, no cooldown starts, and the failure counts only against the delivery
    attempt budget (``OtpPolicy.max_delivery_attempts``).

    ``version`` is bumped by the repository on each save; a save whose version is stale is refused,
    which is how concurrent validations of one code let exactly one succeed.
    """

    client_id: str
    channel: Channel
    current: OneTimePassword | None = None
    # Instants of delivered sends: the cooldown and the send cap.
    sends: list[datetime] = attrs.field(factory=list)
    # Codes whose delivery is under way.
    pending: list[OneTimePassword] = attrs.field(factory=list)
    # Ids of codes delivered inside the send window, so a repeated request sends nothing.
    delivered: list[str] = attrs.field(factory=list)
    # Instants of failed deliveries: with the sends, the delivery attempt budget.
    failures: list[datetime] = attrs.field(factory=list)
    # Instants of wrong tries in the last 30 days, across codes (the daily and monthly caps).
    wrong_tries: list[datetime] = attrs.field(factory=list)
    # Wrong tries since the last success, across codes; at the cap the account locks.
    consecutive_failures: int = 0
    locked: bool = False
    retain_until: datetime | None = None
    version: int = 0

    def begin(self, otp: OneTimePassword, policy: OtpPolicy, now: datetime) -> Issuance:
        """Records ``otp`` as pending, after the cooldown, the send cap and the attempt budget
        allow it. A code already delivered or already pending is not counted again."""
        if otp.id in self.delivered or (self.current is not None and self.current.id == otp.id):
            return Issuance.DELIVERED
        self._forget_old(policy, now)
        # A code that could not be checked is not worth sending (nor an SMS worth paying for).
        lock = self.lock_verdict(policy, now)
        if lock is not None:
            raise account_locked(lock[1])
        if any(p.id == otp.id for p in self.pending):
            return Issuance.RESEND
        self._check_limits(policy, now)
        self.pending.append(otp)
        self._retain(otp, policy, now)
        return Issuance.SEND

    def confirm(
        self,
        otp_id: str,
        policy: OtpPolicy,
        now: datetime,
        provider: str | None = None,
        provider_message_id: str | None = None,
    ) -> bool:
        """The provider accepted the pending code ``otp_id`` (under its message id): it
        replaces the live code and counts as a send. False when it was not pending (already
        confirmed, or dropped)."""
        otp = next((p for p in self.pending if p.id == otp_id), None)
        if otp is None:
            return False
        self.pending.remove(otp)
        otp.provider, otp.provider_message_id = provider, provider_message_id
        if self.current is not None:
            self.current.replace()
        self.current = otp
        self.sends.append(now)
        self.delivered.append(otp.id)
        self._retain(otp, policy, now)
        return True

    def fail(self, otp_id: str, policy: OtpPolicy, now: datetime) -> bool:
        """The delivery of the pending code ``otp_id`` failed: it is dropped; the live code and
        the cooldown stay as they were. False when it was not pending."""
        otp = next((p for p in self.pending if p.id == otp_id), None)
        if otp is None:
            return False
        self.pending.remove(otp)
        self.failures.append(now)
        self.retain_until = max(self.retain_until or now, now + policy.send_window)
        return True

    def cancel(self, otp_id: str, policy: OtpPolicy, now: datetime) -> bool:
        """The pending code ``otp_id`` will not be sent (a cap refused it): dropped, counting
        nothing. False when it was not pending."""
        otp = next((p for p in self.pending if p.id == otp_id), None)
        if otp is None:
            return False
        self.pending.remove(otp)
        return True

    def issue(self, otp: OneTimePassword, policy: OtpPolicy, now: datetime) -> bool:
        """``begin`` and ``confirm`` at once, for a delivery known to have succeeded.

        Returns False, changing nothing, when ``otp`` was already issued.
        """
        if self.begin(otp, policy, now) is Issuance.DELIVERED:
            return False
        return self.confirm(otp.id, policy, now)

    def _check_limits(self, policy: OtpPolicy, now: datetime) -> None:
        # A pending code counts like a send: two deliveries racing must not beat the limits.
        recent = sorted([*self.sends, *(p.issued_at for p in self.pending)])
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
        attempts = sorted([*recent, *self.failures])
        if len(attempts) >= policy.max_delivery_attempts:
            wait = attempts[-policy.max_delivery_attempts] + policy.send_window - now
            raise RateLimited(
                f"Too many delivery attempts; try again in {_seconds(wait)} s.",
                retry_after_seconds=_seconds(wait),
            )

    def _forget_old(self, policy: OtpPolicy, now: datetime) -> None:
        """Drops what no longer counts: sends and failures past the window, pending codes past
        their lifetime (a delivery that never reported back), delivered ids past the window."""
        self.sends = sorted(t for t in self.sends if now - t < policy.send_window)
        self.failures = sorted(t for t in self.failures if now - t < policy.send_window)
        self.pending = [p for p in self.pending if now < p.expires_at]
        keep = len(self.sends) + len(self.pending) + policy.max_sends
        self.delivered = self.delivered[-keep:]

    def _retain(self, otp: OneTimePassword, policy: OtpPolicy, now: datetime) -> None:
        # Kept while a code can be used or a send still counts against the caps; then purgeable.
        self.retain_until = max(self.retain_until or now, otp.expires_at, now + policy.send_window)

    def lock_verdict(self, policy: OtpPolicy, now: datetime) -> tuple[Verdict, int | None] | None:
        """``(LOCKED, seconds until it lifts)`` when no try may be made now: locked by an operator's
        cap (None: until unlocked), or past the daily or monthly cap of wrong tries."""
        if self.locked:
            return Verdict.LOCKED, None
        for window, cap in (
            (DAY, policy.max_failures_per_day),
            (MONTH, policy.max_failures_per_month),
        ):
            recent = [t for t in self.wrong_tries if now - t < window]
            if len(recent) >= cap:
                return Verdict.LOCKED, _seconds(recent[-cap] + window - now)
        return None

    def verify(
        self,
        candidate: CodeHash,
        now: datetime,
        request_id: str | None = None,
        recipient_ref: str | None = None,
        policy: OtpPolicy | None = None,
    ) -> Verdict:
        """Judges one try against the live code, after the caps on wrong tries across codes.

        A wrong try costs the code an attempt and counts against the account: per day, per
        30 days and in a row (a success resets only the last).
        """
        policy = policy or OtpPolicy()
        self.wrong_tries = sorted(t for t in self.wrong_tries if now - t < MONTH)
        if self.current is None:
            return Verdict.NOT_ACTIVE
        used_by_this_request = request_id is not None and self.current.used_by == request_id
        if not used_by_this_request and self.lock_verdict(policy, now) is not None:
            return Verdict.LOCKED
        before = self.current.attempts_left
        verdict = self.current.verify(candidate, now, request_id, recipient_ref)
        if self.current.attempts_left < before:
            self.wrong_tries.append(now)
            self.consecutive_failures += 1
            if self.consecutive_failures >= policy.max_consecutive_failures:
                self.locked = True
            self._keep(FOREVER if self.locked else now + MONTH)
        elif verdict is Verdict.ACCEPTED:
            self.consecutive_failures = 0
        return verdict

    def unlock(self, now: datetime) -> bool:
        """An operator's unlock: the caps on wrong tries start again. False if nothing was held."""
        if not (self.locked or self.wrong_tries or self.consecutive_failures):
            return False
        self.locked = False
        self.wrong_tries = []
        self.consecutive_failures = 0
        live = self.current.expires_at if self.current is not None else now
        self.retain_until = max(live, now + MONTH)
        return True

    def _keep(self, until: datetime) -> None:
        self.retain_until = max(self.retain_until or until, until)
