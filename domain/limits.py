"""Caps on sends that follow the recipient, the caller and the country, not the clientId.

Counts are kept in buckets (a sliding window of about 60 buckets), so that a cap shared by all
workers is one atomic increment in the store, not a list of instants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import attrs

BUCKETS_PER_WINDOW = 60


@attrs.frozen
class Cap:
    """At most ``max_sends`` per sliding ``window``; ``max_sends`` 0 means no cap."""

    max_sends: int = attrs.field(validator=attrs.validators.ge(0))
    window: timedelta

    @property
    def enabled(self) -> bool:
        return self.max_sends > 0

    @property
    def bucket_seconds(self) -> int:
        return max(1, math.ceil(self.window.total_seconds() / BUCKETS_PER_WINDOW))

    def bucket_of(self, now: datetime) -> int:
        """The start of the bucket holding ``now``, in whole seconds since the epoch."""
        seconds = int(now.timestamp())
        return seconds - seconds % self.bucket_seconds

    def keep_until(self, bucket: int) -> datetime:
        """When a bucket no longer counts in any window it falls in."""
        end = bucket + self.bucket_seconds + math.ceil(self.window.total_seconds())
        return datetime.fromtimestamp(end, UTC)

    def live(self, buckets: Mapping[int, int], now: datetime) -> dict[int, int]:
        """The buckets that still count at ``now``."""
        oldest = now.timestamp() - self.window.total_seconds()
        return {b: n for b, n in buckets.items() if b + self.bucket_seconds > oldest and n > 0}

    def retry_after(self, buckets: Mapping[int, int], now: datetime) -> int | None:
        """None when the counts (this send included) are within the cap; otherwise the seconds
        until enough old buckets leave the window for one more send."""
        live = self.live(buckets, now)
        excess = sum(live.values()) - self.max_sends
        if excess <= 0:
            return None
        freed = 0
        for bucket in sorted(live):
            freed += live[bucket]
            if freed >= excess:
                leaves = bucket + self.bucket_seconds + self.window.total_seconds()
                return max(1, math.ceil(leaves - now.timestamp()))
        return max(1, math.ceil(self.window.total_seconds()))


DAY = timedelta(days=1)


HOUR = timedelta(hours=1)
# The numbers of one block: a phone number less its last two digits (100 numbers). A toll-fraud
# run pumps codes to consecutive premium numbers of one range; real customers spread out.
PREFIX_DROPPED_DIGITS = 2


def number_block(e164: str) -> str:
    """The block of 100 numbers ``e164`` belongs to: its digits less the last two."""
    digits = "".join(c for c in e164 if c.isdigit())
    return digits[:-PREFIX_DROPPED_DIGITS]


@attrs.frozen(kw_only=True)
class SendCaps:
    """The abuse caps; each is shared by every worker through the store.

    They follow what attackers vary and leave the engine's throughput alone: by default one
    caller (the engine, for millions of customers) sending 200 codes a second to distinct
    recipients meets none of them. The per-caller cap is off by default; the SMS budget per
    hour is above what 200 SMS a second spend.
    """

    per_recipient: Cap = Cap(10, HOUR)
    per_caller: Cap = Cap(0, timedelta(minutes=1))
    per_sms_prefix: Cap = Cap(30, HOUR)
    per_sms_country: Cap = Cap(0, HOUR)
    sms_budget: Cap = Cap(1_000_000, HOUR)
