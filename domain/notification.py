"""The request to send a code, the notification that carries it and what became of it."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from domain.channel import Channel
from domain.recipient import Recipient
from domain.template import RenderedMessage


@attrs.frozen(kw_only=True)
class OtpRequest:
    """A checked request to generate a code for ``client_id`` and send it to ``recipient``."""

    template_name: str
    recipient: Recipient
    client_id: str
    language: str
    parameters: Mapping[str, object]

    @property
    def channel(self) -> Channel:
        return self.recipient.channel


@attrs.frozen(kw_only=True)
class Notification:
    """One message to one person; ``reference`` ties it to the code it carries, never the code."""

    reference: str
    recipient: Recipient
    template_name: str
    language: str
    message: RenderedMessage


@attrs.frozen(kw_only=True)
class DeliveryResult:
    delivered: bool
    provider: str
    attempts: int = 1
    provider_message_id: str | None = None
    reason: str | None = None


@attrs.frozen(kw_only=True)
class DeliveryReport:
    """What a provider reported later of a message it took: it reached the handset, or not.

    ``reference`` is the notification's (the code's id); ``error`` the provider's own word for
    a failure (an SMSC's ``UNDELIV 001``, an HTTP provider's error code), never the text.
    """

    reference: str
    provider: str
    delivered: bool
    error: str = ""
    seconds: float = 0.0
