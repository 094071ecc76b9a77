"""Where the hashing key comes from when none is configured: a random key kept in a file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_key(path: Path) -> bytes:
    """Reads the key file, creating it (mode 0600) with 32 random bytes the first time."""
    if path.exists():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    return key
