"""Status callbacks: only a genuine, fresh, first copy of a provider's signed callback becomes
a receipt; the signature is the one the provider's own library computes."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from twilio.request_validator import RequestValidator

from adapters.channels.receipts import DeliveryReceipts
from adapters.channels.sms_http import TwilioConfig, WebhookConfig, twilio_callback_url
from adapters.channels.status_callbacks import (
    TwilioStatusCallback,
    WebhookStatusCallback,
    status_callbacks,
    twilio_signature,
    webhook_signature,
)
from domain.errors import AlreadyReceived, InvalidRequest, Unauthorized

SID, TOKEN = "AC0123456789", "twilio-auth-t0ken-secret"
URL = "https://otp.bank.example/v1/sms/status/twilio"
SECRET = "webhook-callback-secret"
NOW = 1_800_000_000.0


def twilio_config(**extra: str) -> TwilioConfig:
    given = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM": "+40700000000"}
    return TwilioConfig.read({**given, **extra})


@pytest.fixture
def receipts() -> DeliveryReceipts:
    found = DeliveryReceipts()
    found.submitted("twilio", ["SM1"], "ref-1")
    found.submitted("webhook", ["42"], "ref-2")
    return found


def twilio_callback(
    status: str = "delivered", *, sent: float = NOW - 5, token: str = TOKEN, **fields: str
) -> tuple[str, dict[str, str], bytes]:
    """What a Twilio-compatible API posts: the query of the URL it was given, the signature
    header, the form."""
    form = {"AccountSid": SID, "MessageSid": "SM1", "MessageStatus": status, **fields}
    url = twilio_callback_url(URL, sent)
    signature = RequestValidator(token).compute_signature(url, form)
    query = urllib.parse.urlsplit(url).query
    return query, {"x-twilio-signature": signature}, urllib.parse.urlencode(form).encode()


def twilio_handler(receipts: DeliveryReceipts) -> TwilioStatusCallback:
    config = twilio_config(TWILIO_STATUS_CALLBACK_URL=URL)
    return TwilioStatusCallback(config, receipts, clock=lambda: NOW)


def test_our_twilio_signature_is_the_one_twilios_library_computes() -> None:
    form = {"MessageSid": "SM1", "AccountSid": SID, "MessageStatus": "delivered", "To": "+40722"}
    url = twilio_callback_url(URL, NOW)
    fields = {name: [value] for name, value in form.items()}
    assert twilio_signature(TOKEN, url, fields) == RequestValidator(TOKEN).compute_signature(
        url, form
    )
    assert RequestValidator(TOKEN).validate(url, form, twilio_signature(TOKEN, url, fields))


def test_a_genuine_twilio_callback_ends_the_message_as_delivered(
    receipts: DeliveryReceipts,
) -> None:
    assert twilio_handler(receipts).handle(*twilio_callback()) is None
    (report,) = receipts.outcomes
    assert (report.reference, report.provider, report.delivered) == ("ref-1", "twilio", True)


def test_an_undelivered_twilio_callback_carries_the_providers_error(
    receipts: DeliveryReceipts,
) -> None:
    handler = twilio_handler(receipts)
    assert handler.handle(*twilio_callback("sent")) is None  # on its way: not an end yet
    assert receipts.outcomes == []
    assert handler.handle(*twilio_callback("undelivered", ErrorCode="30003\x1b[31m")) is None
    (report,) = receipts.outcomes
    assert (report.delivered, report.error) == (False, "undelivered 30003[31m")


@pytest.mark.parametrize(
    "why",
    ["unsigned", "forged", "tampered", "other account", "too old", "from the future", "no time"],
)
def test_a_twilio_callback_that_is_not_genuine_and_fresh_is_refused(
    receipts: DeliveryReceipts, why: str
) -> None:
    query, headers, body = twilio_callback()
    if why == "unsigned":
        headers = {}
    elif why == "forged":
        query, headers, body = twilio_callback(token="someone-elses-token")
    elif why == "tampered":
        body = body.replace(b"delivered", b"undelivered")
    elif why == "other account":
        query, headers, body = twilio_callback(AccountSid="AC999")
    elif why == "too old":
        query, headers, body = twilio_callback(sent=NOW - 86400 - 1)
    elif why == "from the future":
        query, headers, body = twilio_callback(sent=NOW + 60)
    else:
        query = ""
    refused = twilio_handler(receipts).handle(query, headers, body)
    assert isinstance(refused, Unauthorized), why
    assert TOKEN not in refused.message
    assert receipts.outcomes == []


def test_a_replayed_twilio_callback_is_refused_and_counts_once(
    receipts: DeliveryReceipts,
) -> None:
    handler = twilio_handler(receipts)
    callback = twilio_callback()
    assert handler.handle(*callback) is None
    assert isinstance(handler.handle(*callback), AlreadyReceived)
    assert len(receipts.outcomes) == 1


def test_a_twilio_callback_without_a_message_is_a_bad_request(
    receipts: DeliveryReceipts,
) -> None:
    query, headers, body = twilio_callback(MessageSid="")
    assert isinstance(twilio_handler(receipts).handle(query, headers, body), InvalidRequest)
    assert isinstance(twilio_handler(receipts).handle("", {}, b"\xff=%"), InvalidRequest)


def webhook_handler(receipts: DeliveryReceipts) -> WebhookStatusCallback:
    config = WebhookConfig(url="https://sms.example/send", callback_secret=SECRET)
    return WebhookStatusCallback(config, receipts, clock=lambda: NOW)


def webhook_callback(
    payload: object, *, at: float = NOW, secret: str = SECRET
) -> tuple[str, dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return "", {"x-otp-signature": webhook_signature(secret, int(at), body)}, body


def test_a_genuine_webhook_callback_ends_the_message(receipts: DeliveryReceipts) -> None:
    handler = webhook_handler(receipts)
    assert handler.handle(*webhook_callback({"id": 42, "status": "failed", "error": "E1"})) is None
    (report,) = receipts.outcomes
    assert (report.reference, report.delivered, report.error) == ("ref-2", False, "failed E1")


@pytest.mark.parametrize("why", ["unsigned", "forged", "stale", "tampered", "bad header"])
def test_a_webhook_callback_that_is_not_genuine_and_fresh_is_refused(
    receipts: DeliveryReceipts, why: str
) -> None:
    payload = {"id": "42", "status": "delivered"}
    query, headers, body = webhook_callback(payload)
    if why == "unsigned":
        headers = {}
    elif why == "forged":
        query, headers, body = webhook_callback(payload, secret="guess")
    elif why == "stale":
        query, headers, body = webhook_callback(payload, at=NOW - 301)
    elif why == "tampered":
        body = body.replace(b"42", b"43")
    else:
        headers = {"x-otp-signature": "t=abc,v1=00"}
    assert isinstance(webhook_handler(receipts).handle(query, headers, body), Unauthorized)
    assert receipts.outcomes == []


def test_a_replayed_webhook_callback_is_refused(receipts: DeliveryReceipts) -> None:
    handler = webhook_handler(receipts)
    callback = webhook_callback({"id": "42", "status": "delivered"})
    assert handler.handle(*callback) is None
    assert isinstance(handler.handle(*callback), AlreadyReceived)


@pytest.mark.parametrize(
    "payload", [[1], {"status": "delivered"}, {"id": True, "status": "x"}, {"id": 1, "error": 5}]
)
def test_a_signed_webhook_callback_that_is_not_one_is_a_bad_request(
    receipts: DeliveryReceipts, payload: object
) -> None:
    refused = webhook_handler(receipts).handle(*webhook_callback(payload))
    assert type(refused) is InvalidRequest
    assert receipts.outcomes == []


def test_callbacks_exist_only_for_the_providers_configured_for_them() -> None:
    receipts = DeliveryReceipts()
    bare = twilio_config()
    webhook = WebhookConfig(url="https://sms.example/send")
    assert status_callbacks(bare, webhook, receipts) == {}
    signed = WebhookConfig(url="https://sms.example/send", callback_secret=SECRET)
    assert sorted(
        status_callbacks(twilio_config(TWILIO_STATUS_CALLBACK_URL=URL), signed, receipts)
    ) == ["twilio", "webhook"]
