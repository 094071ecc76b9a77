"""The abuse caps applied to a send: per recipient, per caller, per SMS number range, per SMS
country, and the SMS budget per window."""

from __future__ import annotations

import asyncio
from datetime import datetime

import attrs
import structlog

from application.ports import Pseudonyms, SendCounters
from domain.channel import Channel
from domain.errors import RateLimited
from domain.limits import Cap, SendCaps, number_block
from domain.recipient import Recipient

log = structlog.get_logger(__name__)

# The key of the SMS budget: one for all recipients, counted in SMS parts.
BUDGET = "sms_budget"


@attrs.frozen
class Taken:
    """One send counted under ``key`` (``amount`` of it), so it can be given back."""

    key: str
    bucket: int
    amount: int = 1


class SendLimits:
    def __init__(self, counters: SendCounters, pseudonyms: Pseudonyms, caps: SendCaps) -> None:
        self._counters = counters
        self._pseudonyms = pseudonyms
        self._caps = caps

    def _checks(self, recipient: Recipient, caller: str) -> list[tuple[str, Cap, str]]:
        """(key, cap, reason) per cap that applies; the key's first part names the limit."""
        caps = self._caps
        checks = [
            (
                f"recipient:{self._pseudonyms.of(f'{recipient.channel.value}:{recipient.address}')}",
                caps.per_recipient,
                "Too many codes were sent to this recipient",
            ),
            (f"caller:{caller}", caps.per_caller, "This caller sent too many codes"),
        ]
        if recipient.channel == Channel.SMS:
            block = number_block(recipient.address)
            checks += [
                (
                    f"sms_prefix:{self._pseudonyms.of(f'block:{block}')}",
                    caps.per_sms_prefix,
                    "Too many SMS went to numbers of this range",
                ),
                (
                    f"sms_country:{recipient.calling_code}",
                    caps.per_sms_country,
                    f"Too many SMS went to country code +{recipient.calling_code}",
                ),
                (BUDGET, caps.sms_budget, "The SMS budget of this window is spent"),
            ]
        return [c for c in checks if c[1].enabled]

    async def admit(
        self, recipient: Recipient, caller: str, now: datetime, *, cost: int = 1
    ) -> list[Taken]:
        """Counts one send under every cap, or none and raises ``RateLimited``; the SMS budget
        counts the send's ``cost`` (its parts), the other caps count sends. The counts are
        taken at once (one round trip for all caps), then the ones taken are given back if any
        cap is over."""
        checks = self._checks(recipient, caller)
        taken = [
            Taken(key, cap.bucket_of(now), cost if key == BUDGET else 1) for key, cap, _ in checks
        ]
        counted = await asyncio.gather(
            *(self._counters.add(t.key, t.bucket, cap.keep_until(t.bucket), t.amount)
              for t, (_, cap, _) in zip(taken, checks, strict=True))
        )  # fmt: skip
        for (key, cap, reason), buckets in zip(checks, counted, strict=True):
            wait = cap.retry_after(buckets, now)
            if wait is not None:
                await self.give_back(taken)
                limit = key.split(":")[0]
                log.warning("otp.send_capped", cap=limit, caller=caller)
                raise RateLimited(
                    f"{reason}; try again in {wait} s.", retry_after_seconds=wait, limit=limit
                )
        return taken

    async def give_back(self, taken: list[Taken]) -> None:
        """Uncounts sends that did not happen (refused by a later cap)."""
        for item in taken:
            await self._counters.remove(item.key, item.bucket, item.amount)
