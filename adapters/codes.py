"""Code generation from the OS CSPRNG and HMAC-SHA256 hashing with named, rotatable keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

import attrs

from domain.channel import Channel
from domain.otp import CodeHash

# 256 bits: an attacker who steals the stored hashes must not be able to search the key.
MIN_KEY_BYTES = 32


class SecretsCodeGenerator:
    """Random codes from the OS CSPRNG; per-request codes derived with HMAC under a secret key."""

    def __init__(self, derivation_key: bytes | None = None) -> None:
        self._key = derivation_key or secrets.token_bytes(32)

    def generate(
        self, length: int, request_id: str | None = None, recipient: str | None = None
    ) -> str:
        if request_id is None:
            return f"{secrets.randbelow(10**length):0{length}d}"
        digest = hmac.new(self._key, f"code\x00{request_id}".encode(), hashlib.sha512).digest()
        # 512 bits reduced modulo at most 10^10: the bias is far below anything measurable.
        return f"{int.from_bytes(digest, 'big') % 10**length:0{length}d}"


class TestCodesFor:
    """The engine's own end-to-end tests: recipients matching ``pattern`` always get ``code``;
    everyone else gets the ``inner`` generator's. Settings refuse it with production keys or
    beyond loopback (entrypoints/settings.py)."""

    __test__ = False  # not a pytest class

    def __init__(self, inner: SecretsCodeGenerator, code: str, pattern: str) -> None:
        self._inner = inner
        self._code = code
        self._pattern = re.compile(pattern)

    def generate(
        self, length: int, request_id: str | None = None, recipient: str | None = None
    ) -> str:
        if (
            recipient is not None
            and self._pattern.fullmatch(recipient)
            and len(self._code) == length
        ):
            return self._code
        return self._inner.generate(length, request_id)


def key_id_of(key: bytes) -> str:
    """A short public name for an unnamed key: it identifies the key without revealing it."""
    return hashlib.sha256(b"otp-service key id\x00" + key).hexdigest()[:12]


@attrs.frozen
class NamedKey:
    """A hashing key and the public id stored beside each hash made with it."""

    id: str
    secret: bytes = attrs.field(repr=False)

    @classmethod
    def unnamed(cls, secret: bytes) -> NamedKey:
        return cls(key_id_of(secret), secret)


class HmacCodeHasher:
    """Hashes with the newest key; verifies with whichever key a stored hash names.

    ``keys`` are newest first: the first issues, all verify, so adding a key in front rotates
    without invalidating live codes, and a key is dropped once its codes have expired.
    """

    def __init__(self, keys: Sequence[NamedKey]) -> None:
        if not keys:
            raise ValueError("at least one OTP hash key is needed")
        for key in keys:
            if len(key.secret) < MIN_KEY_BYTES:
                raise ValueError(
                    f"an OTP hash key must carry at least {MIN_KEY_BYTES * 8} bits "
                    f"({MIN_KEY_BYTES} bytes); key {key.id!r} is shorter"
                )
        if len({k.id for k in keys}) != len(keys):
            raise ValueError("each OTP hash key needs its own id")
        self._active = keys[0]
        # Derived secrets (per-request codes, pseudonyms) must not change when a key is added
        # in front, or a request redelivered across a rotation would get another code: they
        # come from the oldest key, which is only dropped after its codes expired.
        self._oldest = keys[-1]
        self._keys = {k.id: k.secret for k in keys}

    def derived_key(self, purpose: str) -> bytes:
        """A separate key for another use of the same secret (e.g. deriving codes)."""
        return hmac.new(self._oldest.secret, purpose.encode(), hashlib.sha256).digest()

    def hash(
        self,
        code: str,
        *,
        client_id: str,
        channel: Channel,
        key_id: str | None = None,
        context: str = "",
    ) -> CodeHash:
        kid = key_id or self._active.id
        key = self._keys.get(kid)
        if key is None:
            # A retired key: nothing can match, and an unknown id must not fail loudly per try.
            return CodeHash(key_id=kid, digest="")
        # Binding the client and channel means a stored hash says nothing about any other client;
        # binding the context (a transaction's amount, payee...) means the code approves only it.
        parts = (client_id, channel.value, code, *((context,) if context else ()))
        message = "\x1f".join(parts).encode()
        return CodeHash(key_id=kid, digest=hmac.new(key, message, hashlib.sha256).hexdigest())


class HmacPseudonyms:
    """Keyed hashes of identifiers (clientIds, recipients) for logs and limit counters: stable,
    not reversible without the key, and never the raw value (often a national id number)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:20]
