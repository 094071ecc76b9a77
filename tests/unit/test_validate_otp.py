"""Validating a code: single use, attempts, expiry, replacement."""

from __future__ import annotations

from adapters.codes import HmacCodeHasher, NamedKey
from domain.channel import Channel
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
    # The replies never tell a guesser how many tries it has left.
    assert not any(ch.isdigit() for r in replies for ch in r["error"])
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


def test_codes_issued_under_the_old_key_validate_after_a_rotation(harness: Harness) -> None:
    old, new = NamedKey("old", b"o" * 32), NamedKey("new", b"n" * 32)
    harness.use_hasher(HmacCodeHasher([old]))
    harness.generate(clientId="before")
    issued_before = harness.last_code()
    harness.use_hasher(HmacCodeHasher([new, old]))
    harness.generate(clientId="after")
    issued_after = harness.last_code()
    ledger = harness.run(harness.repository.get("after", Channel.SMS))
    assert ledger.current.code_hash.key_id == "new"
    assert harness.validate(issued_before, clientId="before")["otpValid"] is True
    assert harness.validate(issued_after, clientId="after")["otpValid"] is True
    # Once the old key is dropped, what it issued no longer validates.
    harness.generate(clientId="late")
    late = harness.last_code()
    harness.use_hasher(HmacCodeHasher([NamedKey("newest", b"z" * 32), new]))
    assert harness.validate(late, clientId="late")["otpValid"] is True
    harness.use_hasher(HmacCodeHasher([NamedKey("newest", b"z" * 32)]))
    harness.advance(31)
    harness.generate(clientId="late2")
    harness.use_hasher(HmacCodeHasher([NamedKey("only", b"q" * 32)]))
    assert harness.validate(harness.last_code(), clientId="late2")["otpValid"] is False
