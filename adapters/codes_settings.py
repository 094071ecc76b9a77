"""The codes' and keys' branches of the settings: the policy (length, lifetime, attempts, sends),
the hashing keys and the engine's fixed test codes."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, ClassVar

import attrs
from pydantic import Field, field_validator

from adapters.codes import MIN_KEY_BYTES, NamedKey
from adapters.settings import (
    AtLeastOne,
    Branch,
    Count,
    Creatable,
    Lower,
    Positive,
    aka,
    branch_config,
    shown,
)
from domain.policy import OtpPolicy

_POLICY = OtpPolicy()


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())


class PolicySettings(Branch):
    model_config = branch_config("OTP_")
    title: ClassVar[str] = "Codes"

    length: int = Field(
        _POLICY.length, ge=4, le=10, validation_alias=aka("OTP_LENGTH", "FLOWX_OTP_LENGTH")
    )
    """digits per code, 4–10"""
    ttl_seconds: int = Field(
        _seconds(_POLICY.ttl),
        gt=0,
        validation_alias=aka(
            "OTP_TTL_SECONDS", "FLOWX_OTP_EXPIRE_TIME_IN_SECONDS", "FLOWX_OTP_EXPIRETIMEINSECONDS"
        ),
    )
    """code lifetime"""
    max_attempts: AtLeastOne = _POLICY.max_attempts
    """wrong tries before the code is burnt"""
    resend_cooldown_seconds: Count = _seconds(_POLICY.resend_cooldown)
    """wait between sends per (clientId, channel)"""
    max_sends: AtLeastOne = _POLICY.max_sends
    """delivered sends per (clientId, channel) per `OTP_SEND_WINDOW_SECONDS`"""
    send_window_seconds: Positive = _seconds(_POLICY.send_window)
    """the window of `OTP_MAX_SENDS` and `OTP_MAX_DELIVERY_ATTEMPTS`"""
    max_delivery_attempts: AtLeastOne = _POLICY.max_delivery_attempts
    """delivery attempts, delivered or failed, per (clientId, channel) per window"""
    max_failures_per_day: int = Field(_POLICY.max_failures_per_day, ge=1, le=100)
    """wrong tries per (clientId, channel) per 24 h, across codes (1–100)"""
    max_failures_per_month: int = Field(_POLICY.max_failures_per_month, ge=1, le=100)
    """wrong tries per (clientId, channel) per 30 days, across codes"""
    validate_failure_floor_ms: int = Field(50, ge=0, le=5000)
    """the least time a failed validate takes (0–5000); keep it above the store's write time"""
    default_language: Annotated[str, Lower] = "en"
    """template language when the request names none or one that is missing"""

    @property
    def policy(self) -> OtpPolicy:
        return OtpPolicy(
            length=self.length,
            ttl=timedelta(seconds=self.ttl_seconds),
            max_attempts=self.max_attempts,
            resend_cooldown=timedelta(seconds=self.resend_cooldown_seconds),
            max_sends=self.max_sends,
            send_window=timedelta(seconds=self.send_window_seconds),
            max_delivery_attempts=self.max_delivery_attempts,
            max_failures_per_day=self.max_failures_per_day,
            max_failures_per_month=self.max_failures_per_month,
        )

    @property
    def failure_floor(self) -> timedelta:
        return timedelta(milliseconds=self.validate_failure_floor_ms)


@attrs.frozen
class TestCodes:
    """OTP_TEST_CODE for recipients matching OTP_TEST_RECIPIENTS: for the engine's own tests."""

    __test__ = False  # not a pytest class

    code: str = attrs.field(repr=False)
    recipients: str
    allow_exposed: bool = False


HEX_KEY = re.compile(r"(?:[0-9a-fA-F]{2})+")
KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")


def decode_key(raw: str) -> bytes:
    """A hashing key given as hex or base64 (standard or URL-safe), of at least 256 bits."""
    raw = raw.strip()
    secret: bytes | None = None
    if HEX_KEY.fullmatch(raw):
        secret = bytes.fromhex(raw)
    else:
        try:
            padded = (raw + "=" * (-len(raw) % 4)).replace("-", "+").replace("_", "/")
            secret = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            secret = None
    if secret is None or len(secret) < MIN_KEY_BYTES:
        raise ValueError(
            f"needs keys of at least {MIN_KEY_BYTES * 8} random bits, written as hex "
            f"({MIN_KEY_BYTES * 2} digits) or base64 (e.g. the output of "
            f"'openssl rand -base64 {MIN_KEY_BYTES}')"
        )
    return secret


def _named_keys(raw: str) -> tuple[NamedKey, ...]:
    keys = []
    for entry in filter(None, (e.strip() for e in raw.split(","))):
        key_id, _, secret = entry.partition(":")
        if not KEY_ID.fullmatch(key_id) or not secret:
            raise ValueError(
                "entries must be id:key (ids of letters, digits, '.', '_' or '-', at most 32 "
                "characters)"
            )
        keys.append(NamedKey(key_id, decode_key(secret)))
    if len({k.id for k in keys}) != len(keys):
        raise ValueError("names each key once")
    if not keys:
        raise ValueError("holds no key")
    return tuple(keys)


def _unnamed_keys(raw: str) -> tuple[NamedKey, ...]:
    return tuple(NamedKey.unnamed(decode_key(k)) for k in raw.split(",") if k.strip())


def _regex(raw: str | None) -> str | None:
    try:
        re.compile(raw or "")
    except re.error as exc:
        raise ValueError(f"is not a regular expression: {exc}") from None
    return raw


class KeySettings(Branch):
    model_config = branch_config("OTP_")
    title: ClassVar[str] = "Keys and test codes"

    hash_keys: str | None = Field(None, repr=False)
    """named HMAC keys, newest first: `id:key,id:key`; the first issues, all verify; each ≥ 256
    random bits as hex or base64 (`openssl rand -base64 32`), checked at start"""
    hash_key: str | None = Field(
        None,
        repr=False,
        json_schema_extra=shown("a random key in `OTP_LOCAL_KEY_FILE` (logged warning)"),
    )
    """a single key (same rules) when `OTP_HASH_KEYS` is not set; one of the two is required with
    MongoDB or Kafka"""
    hash_previous_keys: str | None = Field(None, repr=False)
    """with `OTP_HASH_KEY` only: comma-separated retired keys that still verify"""
    local_key_file: Annotated[Path, Creatable] = Field(
        Path("var/otp-hash.key"), validate_default=False
    )
    """where the embedded default keeps its generated key"""
    test_code: str | None = Field(None, repr=False)
    """for the engine's own end-to-end tests only: recipients whose normalised address fully
    matches `OTP_TEST_RECIPIENTS` always get this code (`OTP_LENGTH` digits); everyone else gets
    a secret code. Refused at start with a production hash key (an `OTP_HASH_KEYS` id not
    starting with `test`, or `OTP_HASH_KEY`) and beyond loopback; logged at start
    (`test_codes.enabled`)"""
    test_recipients: str | None = None
    """the test recipients, a regular expression (e.g. `[a-z0-9.]+@qa\\.example`)"""
    test_codes_allow_exposed: bool = False
    """allow the test-code mode on a non-loopback `HTTP_HOST` (a shared test environment)"""

    @field_validator("hash_keys")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        if value is not None:
            _named_keys(value)
        return value

    @field_validator("hash_key", "hash_previous_keys")
    @classmethod
    def _unnamed(cls, value: str | None) -> str | None:
        if value is not None:
            _unnamed_keys(value)
        return value

    @field_validator("test_recipients")
    @classmethod
    def _recipients(cls, value: str | None) -> str | None:
        return _regex(value)

    @property
    def keys(self) -> tuple[NamedKey, ...]:
        """Newest first; empty means the embedded default's generated key file."""
        if self.hash_keys is not None:
            return _named_keys(self.hash_keys)
        return _unnamed_keys(",".join(filter(None, (self.hash_key, self.hash_previous_keys))))

    @property
    def test_codes(self) -> TestCodes | None:
        if self.test_code is None or self.test_recipients is None:
            return None
        return TestCodes(self.test_code, self.test_recipients, self.test_codes_allow_exposed)
