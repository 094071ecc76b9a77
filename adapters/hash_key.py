"""Where the hashing key comes from when none is configured: a random key kept in a file."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def load_or_create_key(path: Path) -> bytes:
    """Reads the key file, creating it (mode 0600) with 32 random bytes the first time.

    Several workers may start at once: the key is written to a private temporary file and
    linked into place, so exactly one key wins and nobody reads half a file.
    """
    if path.exists():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_bytes(32).hex())
    try:
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())
