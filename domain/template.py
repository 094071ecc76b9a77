"""Notification templates as the domain sees them: text with declared parameters."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from domain.channel import Channel
from domain.errors import TemplateParameterMissing

OTP_PARAMETER = "otpValue"
# Set by the service too, so a template can say how long the code lasts.
VALIDITY_PARAMETER = "validMinutes"
# The transaction a code approves (its ``context``), for templates that show it.
CONTEXT_PARAMETER = "context"


@attrs.frozen
class TemplateParameter:
    name: str
    mandatory: bool = False
    description: str = ""


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


@attrs.frozen
class RenderedMessage:
    text: str
    subject: str | None = None
    html: str | None = None
