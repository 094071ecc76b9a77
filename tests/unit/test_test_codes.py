"""Fixed codes for the engine's own end-to-end tests, and the guards that keep them out of
production."""

from __future__ import annotations

import pytest

from adapters.codes import SecretsCodeGenerator, TestCodesFor
from entrypoints.settings import Settings, SettingsError

TEST = {"OTP_TEST_CODE": "424242", "OTP_TEST_RECIPIENTS": r".*@qa\.example|\+40700000\d{3}"}


def test_matching_recipients_get_the_fixed_code_and_others_a_secret_one() -> None:
    codes = TestCodesFor(SecretsCodeGenerator(b"k" * 32), "424242", TEST["OTP_TEST_RECIPIENTS"])
    assert codes.generate(6, "r1", "ana@qa.example") == "424242"
    assert codes.generate(6, None, "+40700000123") == "424242"
    others = {codes.generate(6, None, "ana@bank.example") for _ in range(20)}
    assert "424242" not in others and len(others) > 1
    # The pattern must match the whole address, not a part of it.
    assert codes.generate(6, "r2", "ana@qa.example.evil.com") != "424242"


def test_the_embedded_default_and_test_keys_allow_test_codes() -> None:
    assert Settings.from_env(TEST).keys.test_codes is not None
    keyed = Settings.from_env({**TEST, "OTP_HASH_KEYS": "test-1:" + "ab" * 32})
    assert keyed.keys.test_codes is not None and keyed.keys.test_codes.code == "424242"


@pytest.mark.parametrize(
    ("extra", "refusal"),
    [
        ({"OTP_HASH_KEYS": "k2026:" + "ab" * 32}, "production hash key"),
        ({"OTP_HASH_KEYS": "test-1:" + "ab" * 32 + ",prod:" + "cd" * 32}, "production hash key"),
        ({"OTP_HASH_KEY": "ab" * 32}, "production hash key"),
        ({"HTTP_HOST": "0.0.0.0", "HTTP_API_KEYS": "ci:" + "0" * 64}, "not a loopback"),
        ({"OTP_TEST_CODE": "42"}, "6 digits"),
        ({"OTP_TEST_RECIPIENTS": "("}, "regular expression"),
    ],
)
def test_test_codes_are_refused_at_start(extra: dict[str, str], refusal: str) -> None:
    with pytest.raises(SettingsError, match=refusal):
        Settings.from_env({**TEST, **extra})


def test_one_without_the_other_is_refused() -> None:
    with pytest.raises(SettingsError, match="go together"):
        Settings.from_env({"OTP_TEST_CODE": "424242"})


def test_beyond_loopback_only_when_explicitly_allowed() -> None:
    exposed = {"HTTP_HOST": "0.0.0.0", "HTTP_API_KEYS": "ci:" + "0" * 64}
    allowed = Settings.from_env({**TEST, **exposed, "OTP_TEST_CODES_ALLOW_EXPOSED": "true"})
    assert allowed.keys.test_codes is not None and allowed.keys.test_codes.allow_exposed
