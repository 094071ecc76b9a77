"""Validating a code: single use, attempts, expiry, replacement."""

from __future__ import annotations

from tests.harness import Harness, wrong_code


def test_the_right_code_validates_once(harness: Harness) -> None:
    harness.generate()
    code = harness.last_code()
    assert harness.validate(code)["otpValid"] is True
    second = harness.validate(code)
    assert (second["otpValid"], second["errorCode"]) == (False, "OTP_NOT_FOUND")


def test_validating_with_no_code_issued_is_not_found(harness: Harness) -> None:
    assert harness.validate("123456")["errorCode"] == "OTP_NOT_FOUND"


def test_a_code_of_another_client_does_not_validate(harness: Harness) -> None:
    harness.generate()
    code = harness.last_code()
    assert harness.validate(code, clientId="c2")["errorCode"] == "OTP_NOT_FOUND"
    assert harness.validate(code, channel="MAIL")["errorCode"] == "OTP_NOT_FOUND"


def test_wrong_tries_count_down_then_burn_the_code(harness: Harness) -> None:
    harness.generate()
    code = harness.last_code()
    replies = [harness.validate(wrong_code(code)) for _ in range(5)]
    assert [r["errorCode"] for r in replies] == ["OTP_MISMATCH"] * 4 + ["OTP_ATTEMPTS_EXCEEDED"]
    assert "1 attempt(s) left" in replies[3]["error"]
    assert harness.validate(code)["errorCode"] == "OTP_ATTEMPTS_EXCEEDED"


def test_an_expired_code_does_not_validate(harness: Harness) -> None:
    harness.generate()
    code = harness.last_code()
    harness.advance(600)
    assert harness.validate(code)["errorCode"] == "OTP_EXPIRED"


def test_a_code_just_inside_its_lifetime_validates(harness: Harness) -> None:
    harness.generate()
    code = harness.last_code()
    harness.advance(599)
    assert harness.validate(code)["otpValid"] is True


def test_a_replaced_code_does_not_validate_but_the_new_one_does(harness: Harness) -> None:
    harness.generate()
    old = harness.last_code()
    harness.advance(31)
    harness.generate()
    new = harness.last_code()
    if old != new:
        assert harness.validate(old)["errorCode"] == "OTP_MISMATCH"
    assert harness.validate(new)["otpValid"] is True


def test_an_empty_code_is_an_invalid_request(harness: Harness) -> None:
    assert harness.validate("  ")["errorCode"] == "INVALID_REQUEST"
