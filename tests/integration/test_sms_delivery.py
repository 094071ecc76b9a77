"""SMS through HTTP providers against a local server speaking their APIs."""

from __future__ import annotations

import httpx
import pytest
import structlog

from adapters.channels.failover import FailoverChannel, Provider, RetryPolicy
from adapters.channels.sms_segments import SmsLengthCheck
from domain.channel import Channel
from tests.harness import Harness
from tests.outbox import code_in
from tests.sms_server import FROM, TOKEN, WEBHOOK_TOKEN, SmsProviders
from tests.smtp_server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.sms_provider]

FAST = RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.05)


def use_providers(harness: Harness, *providers: Provider, max_segments: int = 3) -> None:
    harness.channels[Channel.SMS] = FailoverChannel(list(providers), FAST)
    harness.checks[Channel.SMS] = SmsLengthCheck(max_segments)


@pytest.fixture
def client(harness: Harness) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=5)


def test_twilio_gets_the_number_sender_and_text_and_the_code_validates(
    harness: Harness, client: httpx.AsyncClient, sms_providers: SmsProviders
) -> None:
    use_providers(harness, sms_providers.twilio_provider(client))
    assert harness.generate(clientId="c1", language="ro")["otpSent"] is True
    (form,) = sms_providers.twilio
    assert (form["To"], form["From"]) == ("+40722123456", FROM)
    assert form["Body"].startswith("Codul ")
    assert harness.validate(code_in(form["Body"]))["otpValid"] is True


def test_the_webhook_gets_a_json_body_with_a_bearer_token(
    harness: Harness, client: httpx.AsyncClient, sms_providers: SmsProviders
) -> None:
    use_providers(harness, sms_providers.webhook_provider(client))
    assert harness.generate(clientId="c1")["otpSent"] is True
    (sent,) = sms_providers.webhook
    assert sent["to"] == "+40722123456" and sent["template"] == "otp-sms"
    assert harness.validate(code_in(sent["text"]))["otpValid"] is True


def test_429_then_success_is_retried_and_sent_once(
    harness: Harness, client: httpx.AsyncClient, sms_providers: SmsProviders
) -> None:
    sms_providers.script["twilio"] = [429]
    use_providers(harness, sms_providers.twilio_provider(client))
    with structlog.testing.capture_logs() as logs:
        assert harness.generate(clientId="c1")["otpSent"] is True
    assert sms_providers.calls["twilio"] == 2 and len(sms_providers.twilio) == 1
    retries = [e for e in logs if e["event"] == "stamina.retry_scheduled"]
    assert len(retries) == 1


def test_500s_exhaust_the_retries_then_the_next_provider_delivers(
    harness: Harness, client: httpx.AsyncClient, sms_providers: SmsProviders
) -> None:
    sms_providers.script["twilio"] = [500, 500, 500]
    use_providers(
        harness, sms_providers.twilio_provider(client), sms_providers.webhook_provider(client)
    )
    with structlog.testing.capture_logs() as logs:
        assert harness.generate(clientId="c1")["otpSent"] is True
    assert sms_providers.calls == {"twilio": 3, "webhook": 1}
    (failed,) = [e for e in logs if e["event"] == "delivery.provider_failed"]
    assert (failed["provider"], failed["attempts"], failed["reason"]) == (
        "twilio",
        3,
        "twilio answered HTTP 500",
    )


def test_400_is_refused_at_once_without_failover(
    harness: Harness, client: httpx.AsyncClient, sms_providers: SmsProviders
) -> None:
    sms_providers.script["twilio"] = [400]
    use_providers(
        harness, sms_providers.twilio_provider(client), sms_providers.webhook_provider(client)
    )
    reply = harness.generate(clientId="c1")
    assert (reply["otpSent"], reply["errorCode"]) == (False, "DELIVERY_FAILED")
    assert "HTTP 400" in reply["error"]
    assert sms_providers.calls == {"twilio": 1, "webhook": 0}


def test_a_dead_provider_fails_over_to_a_live_one(
    harness: Harness, client: httpx.AsyncClient, sms_providers: SmsProviders
) -> None:
    dead = sms_providers.twilio_provider(client, TWILIO_BASE_URL=f"http://127.0.0.1:{free_port()}")
    use_providers(harness, dead, sms_providers.webhook_provider(client))
    assert harness.generate(clientId="c1")["otpSent"] is True
    assert len(sms_providers.webhook) == 1


def test_an_accepted_answer_with_an_odd_body_is_a_success(
    harness: Harness, client: httpx.AsyncClient, sms_providers: SmsProviders
) -> None:
    sms_providers.odd_success_body = True
    use_providers(harness, sms_providers.twilio_provider(client))
    assert harness.generate(clientId="c1")["otpSent"] is True
    assert sms_providers.calls["twilio"] == 1


def test_a_too_long_sms_is_refused_before_any_provider_is_called(
    harness: Harness, client: httpx.AsyncClient, sms_providers: SmsProviders
) -> None:
    use_providers(harness, sms_providers.twilio_provider(client), max_segments=1)
    reply = harness.generate(clientId="c1", templateName="contract-sign", contractNumber="ș" * 80)
    assert (reply["otpSent"], reply["errorCode"]) == (False, "DELIVERY_FAILED")
    assert "segments" in reply["error"]
    assert sms_providers.calls["twilio"] == 0


def test_a_failing_delivery_logs_no_token_and_no_code(
    harness: Harness, client: httpx.AsyncClient, sms_providers: SmsProviders
) -> None:
    sms_providers.script["twilio"] = [503, 503, 503]
    sms_providers.script["webhook"] = [503, 503, 503]
    use_providers(
        harness, sms_providers.twilio_provider(client), sms_providers.webhook_provider(client)
    )
    with structlog.testing.capture_logs() as logs:
        reply = harness.generate(clientId="c1")
    assert reply["errorCode"] == "DELIVERY_FAILED"
    said = repr(logs) + repr(reply)
    assert "twilio answered HTTP 503" in said
    assert TOKEN not in said and WEBHOOK_TOKEN not in said
    assert len(sms_providers.attempted_texts) == 6
    code = code_in(sms_providers.attempted_texts[-1])
    assert code not in said
