"""The values the service puts into every message beside the caller's parameters."""

from __future__ import annotations

import math
from collections.abc import Mapping

from domain.policy import OtpPolicy
from domain.template import CONTEXT_PARAMETER, OTP_PARAMETER, VALIDITY_PARAMETER


def message_parameters(
    parameters: Mapping[str, object],
    code: str,
    policy: OtpPolicy,
    context: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The caller's parameters with the code, its lifetime in whole minutes (rounded up: 10 for
    600 s, 1 for 30 s) and the context the code approves. Generation and previews share it, so
    a preview shows what would be sent."""
    return {
        **parameters,
        OTP_PARAMETER: code,
        VALIDITY_PARAMETER: math.ceil(policy.ttl.total_seconds() / 60),
        CONTEXT_PARAMETER: dict(context or {}),
    }
