"""Access to the MongoDB-wire server started by scripts/services, one fresh database per test."""

from __future__ import annotations

import os
import uuid

import pytest


def mongo_uri() -> str:
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        pytest.fail(
            "MONGODB_URI is not set: start the servers with `scripts/services up` and "
            '`eval "$(scripts/services env)"`, or run `make test`',
            pytrace=False,
        )
    return uri


def fresh_database_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"
