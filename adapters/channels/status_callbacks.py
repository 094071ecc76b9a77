"""Status callbacks: an HTTP SMS provider telling what became of a message, by a signed request
to ``POST /v1/sms/status/{provider}``. Each is checked for its signature and its age, taken
once, and handed to the delivery receipts (which make it a ``delivered`` or ``undelivered``
event). A callback names a message id and a status: never the code, never the recipient.

- ``twilio``: the form a Twilio-compatible API posts to a message's ``StatusCallback`` URL,
  signed in ``X-Twilio-Signature`` (base64 HMAC-SHA1, keyed with the auth token, of the URL
  followed by the form's fields in name order). The URL is the one configured, so the check
  holds behind a proxy; its ``sent=`` (the send time, inside the signed URL) bounds its age.
- ``webhook``: ``{"id", "status", "error"}``, signed in ``X-Otp-Signature: t=<unix>,v1=<hex
  HMAC-SHA256 of "<t>.<body>">`` with ``SMS_WEBHOOK_CALLBACK_SECRET``, within a tolerance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import ClassVar

from adapters.channels.receipts import DeliveryReceipts, Receipt
from adapters.channels.sms_http import TwilioConfig, WebhookConfig
from application.ports import StatusCallback
from domain.errors import AlreadyReceived, InvalidRequest, OtpError, Unauthorized

ERROR_CHARS = 100  # of a provider's error text, kept in the event and the log


def _printable(text: str) -> str:
    """A provider's error text as it may reach a log: printable, short, no terminal escapes."""
    return "".join(c for c in text if c.isprintable())[:ERROR_CHARS]


class _Seen:
    """Signatures taken already, each for as long as it could be accepted (bounded)."""

    def __init__(self, keep_seconds: float, limit: int = 100_000) -> None:
        self._keep = keep_seconds
        self._limit = limit
        self._taken: OrderedDict[str, float] = OrderedDict()

    def first(self, signature: str, now: float) -> bool:
        """Whether ``signature`` is new (it is then remembered)."""
        while self._taken and (
            len(self._taken) >= self._limit or now - next(iter(self._taken.values())) > self._keep
        ):
            self._taken.popitem(last=False)
        if signature in self._taken:
            return False
        self._taken[signature] = now
        return True


def twilio_signature(token: str, url: str, fields: Mapping[str, list[str]]) -> str:
    """What a Twilio-compatible API puts in ``X-Twilio-Signature`` for a form posted to ``url``."""
    signed = url + "".join(
        name + value for name in sorted(fields) for value in sorted(set(fields[name]))
    )
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _refused(reason: str) -> Unauthorized:
    return Unauthorized(f"The status callback is refused: {reason}.")


class _SignedCallback:
    """What both callbacks do once a callback is found genuine and fresh: take it once."""

    provider: ClassVar[str]

    def __init__(
        self, receipts: DeliveryReceipts, clock: Callable[[], float], keep_seconds: float
    ) -> None:
        self._receipts = receipts
        self._clock = clock
        self._seen = _Seen(keep_seconds)

    def _take(self, signature: str, now: float, receipt: Receipt) -> OtpError | None:
        if not self._seen.first(signature, now):
            return AlreadyReceived("This status callback was received already.")
        self._receipts.receipt(self.provider, receipt)
        return None


class TwilioStatusCallback(_SignedCallback):
    provider = "twilio"

    def __init__(
        self,
        config: TwilioConfig,
        receipts: DeliveryReceipts,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert config.status_callback_url is not None
        super().__init__(receipts, clock, config.status_callback_max_age_seconds)
        self._config = config
        self._url = config.status_callback_url

    def handle(self, query: str, headers: Mapping[str, str], body: bytes) -> OtpError | None:
        try:
            fields = urllib.parse.parse_qs(
                body.decode(), keep_blank_values=True, strict_parsing=bool(body)
            )
        except (UnicodeDecodeError, ValueError):
            return InvalidRequest(
                "A status callback is a form (application/x-www-form-urlencoded)."
            )
        given = headers.get("x-twilio-signature", "")
        url = f"{self._url}?{query}" if query else self._url
        expected = twilio_signature(self._config.auth_token, url, fields)
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            return _refused("its signature is missing or wrong")
        if fields.get("AccountSid") != [self._config.account_sid]:
            return _refused("it is for another account")
        now = self._clock()
        sent = urllib.parse.parse_qs(query).get("sent", [""])[0]
        if (
            not sent.isdigit()
            or not 0 <= now - int(sent) <= self._config.status_callback_max_age_seconds
        ):
            return _refused("it is too old")
        sid = fields.get("MessageSid", [""])[0]
        status = fields.get("MessageStatus", [""])[0]
        if not sid or not status:
            return InvalidRequest("A status callback names MessageSid and MessageStatus.")
        error = _printable(fields.get("ErrorCode", [""])[0])
        return self._take(given, now, Receipt(message_id=sid, state=status, error=error))


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``X-Otp-Signature`` of a webhook callback sent at ``timestamp`` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


class WebhookStatusCallback(_SignedCallback):
    provider = "webhook"

    def __init__(
        self,
        config: WebhookConfig,
        receipts: DeliveryReceipts,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert config.callback_secret is not None
        super().__init__(receipts, clock, 2 * config.callback_tolerance_seconds)
        self._secret = config.callback_secret
        self._tolerance = config.callback_tolerance_seconds

    def handle(self, query: str, headers: Mapping[str, str], body: bytes) -> OtpError | None:
        parts = dict(
            part.split("=", 1)
            for part in headers.get("x-otp-signature", "").split(",")
            if "=" in part
        )
        stamp = parts.get("t", "")
        if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
            return _refused("its signature is missing or wrong")
        expected = webhook_signature(self._secret, int(stamp), body)
        if not hmac.compare_digest(
            f"t={stamp},v1={parts.get('v1', '')}".encode(), expected.encode()
        ):
            return _refused("its signature is missing or wrong")
        now = self._clock()
        if abs(now - int(stamp)) > self._tolerance:
            return _refused("it is too old")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return InvalidRequest('A status callback is a JSON object {"id", "status", "error"}.')
        message_id, status, error = payload.get("id"), payload.get("status"), payload.get("error")
        if (
            not isinstance(message_id, str | int)
            or isinstance(message_id, bool)
            or not isinstance(status, str)
            or not isinstance(error, str | None)
        ):
            return InvalidRequest(
                'A status callback names "id" (a string or number) and "status" (a string); '
                '"error" is a string when given.'
            )
        receipt = Receipt(message_id=str(message_id), state=status, error=_printable(error or ""))
        return self._take(expected, now, receipt)


def status_callbacks(
    twilio: TwilioConfig | None, webhook: WebhookConfig | None, receipts: DeliveryReceipts
) -> dict[str, StatusCallback]:
    """The callbacks the settings ask for, by provider name (the path's last part)."""
    callbacks: dict[str, StatusCallback] = {}
    if twilio is not None and twilio.status_callback_url is not None:
        callbacks[TwilioStatusCallback.provider] = TwilioStatusCallback(twilio, receipts)
    if webhook is not None and webhook.callback_secret is not None:
        callbacks[WebhookStatusCallback.provider] = WebhookStatusCallback(webhook, receipts)
    return callbacks
