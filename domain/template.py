"""Notification templates as the domain sees them: text with declared parameters."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date

import attrs

from domain.channel import Channel
from domain.errors import TemplateParameterInvalid, TemplateParameterMissing

OTP_PARAMETER = "otpValue"
# Set by the service too, so a template can say how long the code lasts.
VALIDITY_PARAMETER = "validMinutes"
# The transaction a code approves (its ``context``), for templates that show it.
CONTEXT_PARAMETER = "context"


# What a parameter's value must be: any text, a number (12, 12.5, "12.50"), or a calendar date
# (an ISO 8601 "2026-12-07").
PARAMETER_TYPES = ("text", "number", "date")
_NUMBER = re.compile(r"-?[0-9]{1,15}([.,][0-9]{1,6})?")


def _fits(kind: str, value: object) -> bool:
    if kind == "number":
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return math.isfinite(value)
        return isinstance(value, str) and _NUMBER.fullmatch(value.strip()) is not None
    if kind == "date":
        try:
            return isinstance(value, str) and bool(date.fromisoformat(value.strip()))
        except ValueError:
            return False
    return True


@attrs.frozen
class TemplateParameter:
    name: str
    mandatory: bool = False
    description: str = ""
    type: str = attrs.field(default="text", validator=attrs.validators.in_(PARAMETER_TYPES))


@attrs.frozen(kw_only=True)
class NotificationTemplate:
    name: str
    channel: Channel
    language: str
    text: str
    subject: str | None = None
    html: str | None = None
    parameters: tuple[TemplateParameter, ...] = ()
    forward_on_kafka: bool = False
    # The published version it was served from (docs/templates.md); None from a folder.
    version: int | None = None

    def complete(self, values: Mapping[str, object]) -> dict[str, object]:
        """The values to render with: declared optional parameters that are absent become ''."""
        return {**{p.name: "" for p in self.parameters if not p.mandatory}, **values}

    def check_parameters(self, values: Mapping[str, object]) -> None:
        """Raises naming every mandatory parameter that is absent, null or empty."""
        missing = [
            p.name for p in self.parameters if p.mandatory and values.get(p.name) in (None, "")
        ]
        if missing:
            raise TemplateParameterMissing(missing)
        wrong = [
            p
            for p in self.parameters
            if values.get(p.name) not in (None, "") and not _fits(p.type, values[p.name])
        ]
        if wrong:
            said = ", ".join(f"{p.name!r} must be a {p.type}" for p in wrong)
            raise TemplateParameterInvalid(f"In 'data', {said}.")


@attrs.frozen
class RenderedMessage:
    text: str
    subject: str | None = None
    html: str | None = None
