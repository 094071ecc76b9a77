"""Code generation from the OS CSPRNG and HMAC-SHA256 hashing with rotatable keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from domain.channel import Channel
from domain.otp import CodeHash

MIN_KEY_BYTES = 16


class SecretsCodeGenerator:
    """Random codes from the OS CSPRNG; per-request codes derived with HMAC under a secret key."""

    def __init__(self, derivation_key: bytes | None = None) -> None:
        self._key = derivation_key or secrets.token_bytes(32)

    def generate(self, length: int, request_id: str | None = None) -> str:
        if request_id is None:
            return f"{secrets.randbelow(10**length):0{length}d}"
        digest = hmac.new(self._key, f"code\x00{request_id}".encode(), hashlib.sha512).digest()
        # 512 bits reduced modulo at most 10^10: the bias is far below anything measurable.
        return f"{int.from_bytes(digest, 'big') % 10**length:0{length}d}"


def key_id_of(key: bytes) -> str:
    """A short public name for a key: it identifies the key without revealing it."""
    return hashlib.sha256(b"otp-service key id\x00" + key).hexdigest()[:12]


class HmacCodeHasher:
    """Hashes with the active key; verifies with whichever key a stored hash names."""

    def __init__(self, active_key: bytes, previous_keys: tuple[bytes, ...] = ()) -> None:
        for key in (active_key, *previous_keys):
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"an OTP hash key must be at least {MIN_KEY_BYTES} bytes long")
        self._active_id = key_id_of(active_key)
        self._keys: Mapping[str, bytes] = {key_id_of(k): k for k in (*previous_keys, active_key)}

    def derived_key(self, purpose: str) -> bytes:
        """A separate key for another use of the same secret (e.g. deriving codes)."""
        return hmac.new(self._keys[self._active_id], purpose.encode(), hashlib.sha256).digest()

    def hash(
        self, code: str, *, client_id: str, channel: Channel, key_id: str | None = None
    ) -> CodeHash:
        kid = key_id or self._active_id
        key = self._keys.get(kid)
        if key is None:
            # A retired key: nothing can match, and an unknown id must not fail loudly per try.
            return CodeHash(key_id=kid, digest="")
        # Binding the client and channel means a stored hash says nothing about any other client.
        message = "\x1f".join((client_id, channel.value, code)).encode()
        return CodeHash(key_id=kid, digest=hmac.new(key, message, hashlib.sha256).hexdigest())
