"""The real servers started by scripts/services: their addresses, and fresh names per test."""

from __future__ import annotations

import os
import uuid

import pytest


def server_address(variable: str) -> str:
    """The address `scripts/services env` exports; a clear failure when it is missing."""
    value = os.environ.get(variable)
    if not value:
        pytest.fail(
            f"{variable} is not set: start the servers with `scripts/services up` and "
            '`eval "$(scripts/services env)"`, or run `make test`',
            pytrace=False,
        )
    return value


def mongo_uri() -> str:
    return server_address("MONGODB_URI")


def fresh_database_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"
