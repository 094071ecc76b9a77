"""Transaction binding (PSD2 dynamic linking): what a code approves, beside who it is for."""

from __future__ import annotations

import json
from collections.abc import Mapping

from domain.errors import InvalidRequest
from domain.text import check_text

MAX_CONTEXT_ENTRIES = 16
MAX_CONTEXT_KEY = 64
MAX_CONTEXT_BYTES = 2048


def check_context(context: object) -> dict[str, object] | None:
    """A generate's or validate's ``context``: a flat JSON object of short, printable values."""
    if context is None:
        return None
    if not isinstance(context, Mapping):
        raise InvalidRequest("'context' must be a JSON object.")
    if len(context) > MAX_CONTEXT_ENTRIES:
        raise InvalidRequest(f"'context' holds more than {MAX_CONTEXT_ENTRIES} entries.")
    for key, value in context.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_CONTEXT_KEY:
            raise InvalidRequest(f"'context' keys are 1 to {MAX_CONTEXT_KEY} characters.")
        check_text(key, f"context key {key[:20]!r}")
        if isinstance(value, str):
            check_text(value, f"context.{key}")
        elif value is not None and not isinstance(value, bool | int | float):
            raise InvalidRequest(
                f"'context.{key}' must be a string, a number, true, false or null."
            )
    if len(canonical_context(context).encode()) > MAX_CONTEXT_BYTES:
        raise InvalidRequest(f"'context' is larger than {MAX_CONTEXT_BYTES} bytes.")
    return dict(context)


def canonical_context(context: Mapping[str, object] | None) -> str:
    """One text per context whatever the order of its keys ("" for none): sorted keys, no
    spaces, UTF-8. Numbers keep their JSON form, so 10 and 10.0 are different contexts:
    engines should send amounts as strings."""
    if not context:
        return ""
    return json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
