"""Code generation and keyed hashing."""

from __future__ import annotations

import pytest

from adapters.codes import HmacCodeHasher, SecretsCodeGenerator
from domain.channel import Channel

OLD = b"old-key-0123456789abcdef"
NEW = b"new-key-0123456789abcdef"


@pytest.mark.parametrize("length", [4, 6, 10])
def test_codes_have_the_configured_number_of_digits(length: int) -> None:
    codes = {SecretsCodeGenerator().generate(length) for _ in range(200)}
    assert all(len(c) == length and c.isdigit() for c in codes)
    assert len(codes) > 150


def test_a_hash_is_bound_to_the_client_and_the_channel() -> None:
    hasher = HmacCodeHasher(NEW)
    base = hasher.hash("123456", client_id="c1", channel=Channel.SMS)
    assert base == hasher.hash("123456", client_id="c1", channel=Channel.SMS)
    assert base != hasher.hash("123456", client_id="c2", channel=Channel.SMS)
    assert base != hasher.hash("123456", client_id="c1", channel=Channel.MAIL)
    assert "123456" not in base.digest


def test_a_code_hashed_under_a_retired_key_still_verifies_after_rotation() -> None:
    before = HmacCodeHasher(OLD).hash("123456", client_id="c1", channel=Channel.SMS)
    rotated = HmacCodeHasher(NEW, previous_keys=(OLD,))
    again = rotated.hash("123456", client_id="c1", channel=Channel.SMS, key_id=before.key_id)
    assert again.matches(before)
    assert rotated.hash("123456", client_id="c1", channel=Channel.SMS).key_id != before.key_id


def test_a_hash_under_an_unknown_key_matches_nothing() -> None:
    before = HmacCodeHasher(OLD).hash("123456", client_id="c1", channel=Channel.SMS)
    unrelated = HmacCodeHasher(NEW)
    again = unrelated.hash("123456", client_id="c1", channel=Channel.SMS, key_id=before.key_id)
    assert not again.matches(before)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        HmacCodeHasher(b"short")
