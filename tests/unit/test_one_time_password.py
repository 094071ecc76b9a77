"""The rules a single code obeys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from application.outcomes import Status, judged
from domain.channel import Channel
from domain.otp import CodeHash, OneTimePassword, OtpState, Verdict

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
RIGHT = CodeHash(key_id="k1", digest="aa" * 32)
WRONG = CodeHash(key_id="k1", digest="bb" * 32)


def a_code(attempts: int = 3) -> OneTimePassword:
    return OneTimePassword(
        id="o1",
        client_id="c1",
        channel=Channel.SMS,
        code_hash=RIGHT,
        issued_at=NOW,
        expires_at=NOW + timedelta(minutes=10),
        attempts_left=attempts,
    )


def test_the_right_code_is_accepted_once() -> None:
    otp = a_code()
    assert otp.verify(RIGHT, NOW) is Verdict.ACCEPTED
    assert otp.state is OtpState.USED
    assert otp.verify(RIGHT, NOW) is Verdict.NOT_ACTIVE


def test_a_wrong_code_costs_one_attempt_and_the_last_one_burns_the_code() -> None:
    otp = a_code(attempts=2)
    assert otp.verify(WRONG, NOW) is Verdict.MISMATCH
    assert otp.attempts_left == 1
    assert otp.verify(WRONG, NOW) is Verdict.ATTEMPTS_EXCEEDED
    assert otp.state is OtpState.BURNT
    assert otp.verify(RIGHT, NOW) is Verdict.ATTEMPTS_EXCEEDED


def test_a_code_is_expired_at_its_expiry_instant_and_a_try_then_costs_nothing() -> None:
    otp = a_code()
    assert otp.verify(RIGHT, NOW + timedelta(minutes=10)) is Verdict.EXPIRED
    assert otp.attempts_left == 3
    assert otp.state is OtpState.ACTIVE


def test_a_hash_under_another_key_never_matches() -> None:
    otp = a_code()
    assert otp.verify(CodeHash(key_id="k2", digest=RIGHT.digest), NOW) is Verdict.MISMATCH


def test_a_replaced_code_never_validates() -> None:
    otp = a_code()
    otp.replace()
    assert otp.state is OtpState.REPLACED
    assert otp.verify(RIGHT, NOW) is Verdict.NOT_ACTIVE


def test_each_failing_verdict_is_an_outcome_with_its_error_code() -> None:
    codes = {v: o.error.code for v in Verdict if (o := judged(v, 2)).error is not None}
    assert codes == {
        Verdict.MISMATCH: "OTP_MISMATCH",
        Verdict.EXPIRED: "OTP_EXPIRED",
        Verdict.ATTEMPTS_EXCEEDED: "OTP_ATTEMPTS_EXCEEDED",
        Verdict.NOT_ACTIVE: "OTP_NOT_FOUND",
        Verdict.LOCKED: "OTP_LOCKED",
    }
    assert judged(Verdict.ACCEPTED).status is Status.VALID
    assert judged(Verdict.LOCKED, 2).retry_after_seconds == 2
    assert judged(Verdict.LOCKED).retry_after_seconds is None
