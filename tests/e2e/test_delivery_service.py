"""The engine over Kafka with real delivery: SMTP to aiosmtpd, SMS to a provider's API, forward."""

from __future__ import annotations

import json
import ssl
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from twilio.request_validator import RequestValidator

from tests.e2e.deployment import ENGINE_HEADERS, Deployment
from tests.integration.kafka import body, bootstrap, produce, read
from tests.outbox import code_in
from tests.sms_server import SID, TOKEN, SmsProviders
from tests.smtp_server import start_mail_server

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.mongo]

FAST_RETRIES = {"DELIVERY_BACKOFF_INITIAL_SECONDS": "0.05", "DELIVERY_BACKOFF_MAX_SECONDS": "0.2"}


def _ask_and_check(
    deployment: Deployment, request: dict[str, str], read_code: Callable[[], str]
) -> None:
    topics = deployment.topics
    produce(topics.generate_in, [(b"k", json.dumps(request).encode(), ENGINE_HEADERS)])
    (reply,) = read([topics.generate_out], 1)
    assert body(reply)["otpSent"] is True, body(reply)
    code = read_code()
    check = {"clientId": request["clientId"], "channel": request["channel"], "otp": code}
    produce(topics.validate_in, [(b"k", json.dumps(check).encode(), ENGINE_HEADERS)])
    (verdict,) = read([topics.validate_out], 1)
    assert body(verdict)["otpValid"] is True
    assert verdict.headers() == ENGINE_HEADERS


@pytest.mark.smtp
def test_a_mail_reaches_a_real_smtp_server_and_its_code_validates(
    tmp_path: Path, certificate_authority: tuple[Path, ssl.SSLContext]
) -> None:
    server = start_mail_server(certificate_authority, "starttls")
    deployment = Deployment(tmp_path, **server.env(), **FAST_RETRIES)
    try:
        worker = deployment.start("w1")
        request = {
            "templateName": "otp-mail",
            "channel": "MAIL",
            "recipient": "ana@example.com",
            "clientId": "mail-1",
        }
        _ask_and_check(deployment, request, lambda: code_in(server.inbox.text_of()))
        assert len(server.inbox.messages) == 1
        assert not (tmp_path / "outbox").exists()
        assert worker.stop() == 0
        assert server.env()["SMTP_PASSWORD"] not in worker.logs()
    finally:
        deployment.stop()
        server.controller.stop()


@pytest.mark.sms_provider
def test_an_sms_reaches_the_provider_and_its_code_validates(
    tmp_path: Path, sms_providers: SmsProviders
) -> None:
    sms_providers.script["twilio"] = [503]
    deployment = Deployment(tmp_path, **sms_providers.env("twilio,webhook"), **FAST_RETRIES)
    try:
        worker = deployment.start("w1")
        request = {
            "templateName": "otp-sms",
            "channel": "SMS",
            "recipient": "+40722123456",
            "clientId": "sms-1",
        }
        _ask_and_check(deployment, request, lambda: code_in(sms_providers.twilio[-1]["Body"]))
        assert sms_providers.calls == {"twilio": 2, "webhook": 0}
        assert worker.stop() == 0
        assert sms_providers.env()["TWILIO_AUTH_TOKEN"] not in worker.logs()
    finally:
        deployment.stop()


@pytest.mark.sms_provider
def test_a_genuine_status_callback_is_a_delivered_event_a_forged_or_replayed_one_refused(
    tmp_path: Path, sms_providers: SmsProviders
) -> None:
    events = f"t{uuid.uuid4().hex[:10]}.events"
    admin = AdminClient({"bootstrap.servers": bootstrap()})
    for future in admin.create_topics([NewTopic(events, num_partitions=1)]).values():
        future.result(timeout=30)
    # The public address the provider is given (behind a proxy): signatures are of this URL.
    public = "https://otp.bank.example/v1/sms/status/twilio"
    deployment = Deployment(
        tmp_path,
        **sms_providers.env("twilio"),
        TWILIO_STATUS_CALLBACK_URL=public,
        KAFKA_TOPIC_OTP_EVENTS=events,
        **FAST_RETRIES,
    )
    try:
        service = deployment.start("w1")
        request = {
            "templateName": "otp-sms",
            "channel": "SMS",
            "recipient": "+40722123456",
            "clientId": "receipt-1",
        }
        produce(deployment.topics.generate_in, [(b"k", json.dumps(request).encode(), [])])
        (reply,) = read([deployment.topics.generate_out], 1)
        assert body(reply)["otpSent"] is True, body(reply)
        (sent,) = sms_providers.twilio
        callback_url = sent["StatusCallback"]
        assert callback_url.startswith(public + "?sent=")
        sid = f"SM{1:032d}"

        def post(
            form: dict[str, str], signature: str | None, url: str = callback_url
        ) -> httpx.Response:
            query = urllib.parse.urlsplit(url).query
            headers = {} if signature is None else {"X-Twilio-Signature": signature}
            return httpx.post(
                f"{service.base_url}/v1/sms/status/twilio?{query}",
                data=form,
                headers=headers,
                timeout=10,
            )

        genuine = {"AccountSid": SID, "MessageSid": sid, "MessageStatus": "delivered"}
        signed = RequestValidator(TOKEN).compute_signature(callback_url, genuine)
        forged = RequestValidator("a-guessed-token").compute_signature(callback_url, genuine)
        too_old = public + f"?sent={int(time.time()) - 2 * 86400}"
        refused = [
            post(genuine, None),
            post(genuine, forged),
            post({**genuine, "MessageStatus": "undelivered"}, signed),
        ]
        assert [r.status_code for r in refused] == [401, 401, 401]
        assert {r.json()["errorCode"] for r in refused} == {"UNAUTHORIZED"}
        old = httpx.post(
            f"{service.base_url}/v1/sms/status/twilio?{urllib.parse.urlsplit(too_old).query}",
            data=genuine,
            headers={
                "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(too_old, genuine)
            },
            timeout=10,
        )
        assert old.status_code == 401
        assert post(genuine, signed).status_code == 204
        assert post(genuine, signed).status_code == 409  # the replay
        not_configured = httpx.post(
            f"{service.base_url}/v1/sms/status/webhook", json={}, timeout=10
        )
        assert not_configured.status_code == 404
        kinds = [body(r)["type"] for r in read([events], 3)]
        assert kinds == [f"ai.flowx.otp.{kind}" for kind in ("issued", "accepted", "delivered")]
        metrics = httpx.get(f"{service.base_url}/metrics", timeout=10).text
        assert 'otp_sms_receipts_total{kind="delivered",provider="twilio"} 1.0' in metrics
        assert 'operation="sms_status",outcome="UNAUTHORIZED"} 4.0' in metrics
        assert TOKEN not in service.logs()
    finally:
        deployment.stop()


def test_a_template_flagged_forward_on_kafka_goes_to_the_external_topic(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "templates" / "otp-external"
    folder.mkdir(parents=True)
    (folder / "template.toml").write_text(
        'channel = "SMS"\nforward_on_kafka = true\n[parameters]\notpValue = { mandatory = true }\n'
    )
    (folder / "en.toml").write_text('text = "Code {{ otpValue }}"\n')
    external = f"t{uuid.uuid4().hex[:10]}.external.out"
    deployment = Deployment(tmp_path, KAFKA_TOPIC_NOTIFICATION_EXTERNAL_OUT=external)
    try:
        deployment.import_templates(tmp_path / "templates")
        deployment.start("w1")
        request = {
            "templateName": "otp-external",
            "channel": "SMS",
            "recipient": "+40722123456",
            "clientId": "fwd-1",
        }
        produce(
            deployment.topics.generate_in,
            [(b"k", json.dumps(request).encode(), ENGINE_HEADERS)],
        )
        (reply,) = read([deployment.topics.generate_out], 1)
        assert body(reply)["otpSent"] is True
        (forwarded,) = read([external], 1)
        record = body(forwarded)
        assert (record["recipient"], record["channel"]) == ("+40722123456", "SMS")
        assert record["text"].startswith("Code ")
        assert not (tmp_path / "outbox").exists()
    finally:
        deployment.stop()
