"""SMS through HTTP providers: a Twilio-compatible Messages API, or a generic JSON webhook."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import httpx
from pydantic import Field

from adapters.channels.failover import PermanentDeliveryError, TransientDeliveryError
from adapters.channels.receipts import DeliveryReceipts
from adapters.settings import Branch, HttpUrl, Seconds, branch_config, shown
from domain.notification import Notification


def _accepted(response: httpx.Response, provider: str) -> dict[str, Any]:
    """2xx is success, whatever the body says: a success read as a failure sends a 2nd code."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            parsed = response.json()
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    reason = f"{provider} answered HTTP {status}"
    if status == 429 or status >= 500:
        raise TransientDeliveryError(reason)
    raise PermanentDeliveryError(reason)


async def _post(
    client: httpx.AsyncClient, provider: str, url: str, **kwargs: Any
) -> dict[str, Any]:
    try:
        response = await client.post(url, **kwargs)
    except httpx.TransportError as exc:
        # The exception text may carry the URL; the type says enough and holds no secret.
        raise TransientDeliveryError(f"{provider} unreachable: {type(exc).__name__}") from None
    return _accepted(response, provider)


class TwilioConfig(Branch):
    """A Twilio-compatible Messages API, when SMS_PROVIDERS lists twilio."""

    model_config = branch_config("TWILIO_")

    account_sid: str = Field(json_schema_extra=shown("required with `twilio`"))
    """Twilio-compatible account"""
    auth_token: str = Field(repr=False, json_schema_extra=shown("required with `twilio`"))
    """its token"""
    sender: str = Field(
        validation_alias="TWILIO_FROM", json_schema_extra=shown("required with `twilio`")
    )
    """sender number"""
    base_url: Annotated[str, HttpUrl] = "https://api.twilio.com"
    """any Twilio-compatible API"""
    status_callback_url: Annotated[str | None, HttpUrl] = None
    """the public URL of this service's `/v1/sms/status/twilio` (as the provider reaches it,
    e.g. behind a proxy): each message asks for status callbacks there, and their signatures
    are checked against it; unset: no status callbacks"""
    status_callback_max_age_seconds: Seconds = 86400.0
    """a status callback for a message sent longer ago is refused"""

    @classmethod
    def wanted(cls, given: Mapping[str, str]) -> bool:
        return "twilio" in given.get("SMS_PROVIDERS", "").lower()


class TwilioSmsProvider:
    """POST /2010-04-01/Accounts/{sid}/Messages.json, form-encoded, HTTP basic auth."""

    name = "twilio"

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: TwilioConfig,
        receipts: DeliveryReceipts,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._config = config
        self._receipts = receipts
        self._clock = clock
        # Whether it reports what became of a message (status callbacks).
        self.reports = config.status_callback_url is not None

    async def deliver(self, notification: Notification) -> str | None:
        config = self._config
        form = {
            "To": notification.recipient.address,
            "From": config.sender,
            "Body": notification.message.text,
        }
        if config.status_callback_url is not None:
            # The send time rides in the signed URL: a callback's age can then be checked.
            form["StatusCallback"] = twilio_callback_url(config.status_callback_url, self._clock())
        answer = await _post(
            self._client,
            self.name,
            f"{config.base_url.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json",
            data=form,
            auth=(config.account_sid, config.auth_token),
        )
        sid = answer.get("sid")
        if not isinstance(sid, str):
            return None
        if config.status_callback_url is not None:
            self._receipts.submitted(self.name, [sid], notification.reference)
        return sid


def twilio_callback_url(url: str, sent: float) -> str:
    """The ``StatusCallback`` of a message sent at ``sent`` (unix seconds)."""
    return f"{url}{'&' if '?' in url else '?'}sent={int(sent)}"


class WebhookConfig(Branch):
    """A JSON webhook, when SMS_PROVIDERS lists webhook."""

    model_config = branch_config("SMS_WEBHOOK_")

    url: Annotated[str, HttpUrl] = Field(json_schema_extra=shown("required with `webhook`"))
    """JSON webhook"""
    token: str | None = Field(None, repr=False)
    """the webhook's bearer token"""
    callback_secret: str | None = Field(None, repr=False)
    """the key of the webhook's status callbacks to `/v1/sms/status/webhook` (`X-Otp-Signature`);
    unset: no status callbacks"""
    callback_tolerance_seconds: Seconds = 300.0
    """a status callback signed further from now is refused"""

    @classmethod
    def wanted(cls, given: Mapping[str, str]) -> bool:
        return "webhook" in given.get("SMS_PROVIDERS", "").lower()


class WebhookSmsProvider:
    """POST a JSON body ``{to, text, reference, template, language}``, optional bearer token."""

    name = "webhook"

    def __init__(
        self, client: httpx.AsyncClient, config: WebhookConfig, receipts: DeliveryReceipts
    ) -> None:
        self._client = client
        self._config = config
        self._receipts = receipts
        self.reports = config.callback_secret is not None

    async def deliver(self, notification: Notification) -> str | None:
        headers = {"Authorization": f"Bearer {self._config.token}"} if self._config.token else {}
        answer = await _post(
            self._client,
            self.name,
            self._config.url,
            json={
                "to": notification.recipient.address,
                "text": notification.message.text,
                "reference": notification.reference,
                "template": notification.template_name,
                "language": notification.language,
            },
            headers=headers,
        )
        message_id = answer.get("id")
        if message_id is None:
            return None
        if self._config.callback_secret is not None:
            self._receipts.submitted(self.name, [str(message_id)], notification.reference)
        return str(message_id)
