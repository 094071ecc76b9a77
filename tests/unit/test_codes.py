"""Code generation and keyed hashing with named, rotatable keys."""

from __future__ import annotations

import base64

import pytest

from adapters.codes import HmacCodeHasher, NamedKey, SecretsCodeGenerator
from domain.channel import Channel
from entrypoints.settings import Settings, SettingsError

OLD = NamedKey("2026-10", b"o" * 32)
NEW = NamedKey("2026-11", b"n" * 32)


@pytest.mark.parametrize("length", [4, 6, 10])
def test_codes_have_the_configured_number_of_digits(length: int) -> None:
    codes = {SecretsCodeGenerator().generate(length) for _ in range(200)}
    assert all(len(c) == length and c.isdigit() for c in codes)
    assert len(codes) > 150


def test_a_hash_is_bound_to_the_client_the_channel_and_the_context() -> None:
    hasher = HmacCodeHasher([NEW])
    base = hasher.hash("123456", client_id="c1", channel=Channel.SMS)
    assert base == hasher.hash("123456", client_id="c1", channel=Channel.SMS)
    assert base != hasher.hash("123456", client_id="c2", channel=Channel.SMS)
    assert base != hasher.hash("123456", client_id="c1", channel=Channel.MAIL)
    bound = hasher.hash("123456", client_id="c1", channel=Channel.SMS, context='{"amount":"10"}')
    assert bound != base
    other = hasher.hash("123456", client_id="c1", channel=Channel.SMS, context='{"amount":"11"}')
    assert other != bound
    assert "123456" not in base.digest


def test_the_newest_key_issues_and_every_listed_key_verifies() -> None:
    before = HmacCodeHasher([OLD]).hash("123456", client_id="c1", channel=Channel.SMS)
    rotated = HmacCodeHasher([NEW, OLD])
    again = rotated.hash("123456", client_id="c1", channel=Channel.SMS, key_id=before.key_id)
    assert again.matches(before)
    assert rotated.hash("123456", client_id="c1", channel=Channel.SMS).key_id == "2026-11"


def test_derived_secrets_survive_adding_a_key_in_front() -> None:
    # A request redelivered across a rotation must get the same code as before it.
    assert HmacCodeHasher([OLD]).derived_key("codes") == HmacCodeHasher([NEW, OLD]).derived_key(
        "codes"
    )


def test_a_hash_under_an_unknown_key_matches_nothing() -> None:
    before = HmacCodeHasher([OLD]).hash("123456", client_id="c1", channel=Channel.SMS)
    unrelated = HmacCodeHasher([NEW])
    again = unrelated.hash("123456", client_id="c1", channel=Channel.SMS, key_id=before.key_id)
    assert not again.matches(before)


def test_a_key_under_256_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 256 bits"):
        HmacCodeHasher([NamedKey("short", b"x" * 31)])


def test_hash_keys_are_read_as_hex_or_base64_named_and_newest_first() -> None:
    hex_key = "ab" * 32
    b64_key = base64.b64encode(b"k" * 32).decode()
    urlsafe = base64.urlsafe_b64encode(b"\xfb" * 33).decode().rstrip("=")
    settings = Settings.from_env({"OTP_HASH_KEYS": f"new:{b64_key},old:{hex_key},x:{urlsafe}"})
    assert [k.id for k in settings.keys.keys] == ["new", "old", "x"]
    assert settings.keys.keys[0].secret == b"k" * 32
    assert settings.keys.keys[1].secret == bytes.fromhex(hex_key)
    assert settings.keys.keys[2].secret == b"\xfb" * 33
    assert b64_key not in repr(settings)


@pytest.mark.parametrize(
    "value",
    [
        "replace-me-with-a-long-random-secret",  # a passphrase, not random bits
        "ab" * 31,  # 248 bits
        base64.b64encode(b"k" * 31).decode(),
        "a-very-long-text-that-is-not-a-key-at-all-but-has-many-characters",
    ],
)
def test_a_weak_or_malformed_hash_key_stops_the_start(value: str) -> None:
    with pytest.raises(SettingsError, match="256 random bits") as refused:
        Settings.from_env({"OTP_HASH_KEY": value})
    assert value not in str(refused.value)
    with pytest.raises(SettingsError, match="256 random bits"):
        Settings.from_env({"OTP_HASH_KEYS": f"k1:{value}"})


def test_hash_key_ids_are_checked() -> None:
    key = "ab" * 32
    with pytest.raises(SettingsError, match="names each key once"):
        Settings.from_env({"OTP_HASH_KEYS": f"a:{key},a:{key}"})
    with pytest.raises(SettingsError, match="id:key"):
        Settings.from_env({"OTP_HASH_KEYS": key})
