"""Who is calling the HTTP API: a bearer key checked against the SHA-256s in HTTP_API_KEYS."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from entrypoints.settings import ApiKey

JSON = "application/json"


def caller(request: Request, keys: tuple[ApiKey, ...]) -> ApiKey | None:
    """The key the request carries, or None. Every configured key is compared (constant
    time), so the answer takes as long whichever key matches, or none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    found = None
    for key in keys:
        if hmac.compare_digest(digest, key.sha256):
            found = key
    return found


def is_json(request: Request) -> bool:
    """Only JSON bodies: a web page cannot send one across origins without a preflight."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0]
    return media_type.strip().lower() == JSON
