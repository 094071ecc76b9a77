"""Wrong tries counted per account across codes: per day, per 30 days, and 100 in a row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from domain.channel import Channel
from domain.policy import OtpPolicy
from tests.harness import Harness, wrong_code


@pytest.fixture
def strict() -> Iterator[Harness]:
    # No cooldown and many sends, so that only the failure caps stop the guesser.
    h = Harness(OtpPolicy(resend_cooldown=timedelta(0), max_sends=1000, max_delivery_attempts=1000))
    yield h
    h.close()


def _guess_with_fresh_codes(h: Harness, wrong_tries: int) -> list[dict[str, object]]:
    """Asks for a new code whenever the last one is burnt, and types wrong codes."""
    replies: list[dict[str, object]] = []
    for _ in range(wrong_tries):
        if not replies or replies[-1]["errorCode"] == "OTP_ATTEMPTS_EXCEEDED":
            h.generate()
        replies.append(h.validate(wrong_code(h.last_code())))
    return replies


def test_a_new_code_does_not_reset_the_daily_cap_of_wrong_tries(strict: Harness) -> None:
    replies = _guess_with_fresh_codes(strict, 20)
    assert "OTP_LOCKED" not in [r["errorCode"] for r in replies]
    # The 21st try of the day is refused, even with a new code and the right one.
    assert strict.generate()["errorCode"] == "OTP_LOCKED"
    strict.advance(31)
    locked = strict.validate(strict.last_code())
    assert (locked["otpValid"], locked["errorCode"]) == (False, "OTP_LOCKED")
    assert "try again in" in str(locked["error"])
    # A day later the account may try again.
    strict.advance(24 * 3600)
    assert strict.generate()["otpSent"] is True
    assert strict.validate(strict.last_code())["otpValid"] is True


def test_a_hundred_wrong_tries_in_a_row_lock_until_an_operator_unlocks(strict: Harness) -> None:
    for _day in range(5):
        replies = _guess_with_fresh_codes(strict, 20)
        assert all(r["errorCode"] in ("OTP_MISMATCH", "OTP_ATTEMPTS_EXCEEDED") for r in replies)
        strict.advance(24 * 3600 + 1)
    # 100 in a row: locked for good, a month later too.
    strict.advance(40 * 24 * 3600)
    assert strict.generate()["errorCode"] == "OTP_LOCKED"
    ledger = strict.run(strict.repository.get("c1", Channel.SMS))
    assert ledger.locked and ledger.consecutive_failures == 100
    assert strict.run(strict.unlock_use_case.execute("c1", "SMS")) is True
    assert strict.generate()["otpSent"] is True
    assert strict.validate(strict.last_code())["otpValid"] is True


def test_the_thirty_day_cap_holds_even_when_successes_reset_the_run(strict: Harness) -> None:
    tried = 0
    for _day in range(6):
        replies = _guess_with_fresh_codes(strict, 19)
        tried += sum(r["errorCode"] != "OTP_LOCKED" for r in replies)
        strict.advance(31)
        strict.generate()
        strict.validate(strict.last_code())  # the customer logs in: the run starts again
        strict.advance(24 * 3600)
    # At most 100 wrong tries in 30 days, whatever the customer's successes.
    assert tried == 100
    assert strict.run(strict.repository.get("c1", Channel.SMS)).locked is False


def test_a_success_resets_the_run_of_wrong_tries(strict: Harness) -> None:
    strict.generate()
    strict.validate(wrong_code(strict.last_code()))
    strict.validate(strict.last_code())
    assert strict.run(strict.repository.get("c1", Channel.SMS)).consecutive_failures == 0


def test_the_daily_cap_cannot_be_set_above_a_hundred() -> None:
    with pytest.raises(ValueError):
        OtpPolicy(max_failures_per_day=101)
