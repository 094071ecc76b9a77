"""Scenarios of features/delivery.feature, against a real SMTP server and SMS provider API."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from adapters.channels.failover import FailoverChannel, Provider, RetryPolicy
from adapters.channels.mime import Sender
from adapters.channels.sms_http import (
    TwilioConfig,
    TwilioSmsProvider,
    WebhookConfig,
    WebhookSmsProvider,
)
from adapters.channels.sms_segments import SegmentLimitedChannel
from adapters.channels.smtp import SmtpConfig, SmtpMailProvider
from domain.channel import Channel
from tests.harness import Harness
from tests.sms_server import FROM, SID, TOKEN, WEBHOOK_TOKEN, SmsProviders
from tests.smtp_server import PASSWORD, USER, MailServer, start_mail_server

scenarios("delivery.feature")

FAST = RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.05)


class SmsSetup:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.max_segments = 3


@pytest.fixture
def sms_setup() -> SmsSetup:
    return SmsSetup()


@pytest.fixture
def scripted_mail_server(
    certificate_authority: tuple[Path, ssl.SSLContext],
) -> Iterator[list[MailServer]]:
    started: list[MailServer] = []
    yield started
    for server in started:
        server.controller.stop()


def _wire_sms(harness: Harness, providers: SmsProviders, setup: SmsSetup) -> None:
    client = httpx.AsyncClient(timeout=5)
    built: dict[str, Provider] = {
        "twilio": TwilioSmsProvider(
            client,
            TwilioConfig(
                account_sid=SID, auth_token=TOKEN, sender=FROM, base_url=providers.base_url
            ),
        ),
        "webhook": WebhookSmsProvider(
            client, WebhookConfig(url=f"{providers.base_url}/sms", token=WEBHOOK_TOKEN)
        ),
    }
    channel = FailoverChannel([built[n] for n in setup.names], FAST)
    harness.channels[Channel.SMS] = SegmentLimitedChannel(channel, setup.max_segments)


@given(parsers.parse('the SMS providers are "{names}"'))
def sms_providers_are(sms_setup: SmsSetup, names: str) -> None:
    sms_setup.names = [n.strip() for n in names.split(",")]


@given(parsers.re(r'"(?P<name>\w+)" answers "(?P<status>\d+)[^"]*" (?P<times>once|\d+ times)'))
def provider_answers(sms_providers: SmsProviders, name: str, status: str, times: str) -> None:
    count = 1 if times == "once" else int(times.split()[0])
    sms_providers.script[name] = [int(status)] * count


@given(parsers.parse("at most {count:d} SMS segment is allowed"))
def segment_limit(sms_setup: SmsSetup, count: int) -> None:
    sms_setup.max_segments = count


@given(parsers.parse('the mail server answers "{answer}" once'))
def mail_server_answers(
    harness: Harness,
    certificate_authority: tuple[Path, ssl.SSLContext],
    scripted_mail_server: list[MailServer],
    answer: str,
) -> None:
    server = start_mail_server(certificate_authority, "starttls", answer)
    scripted_mail_server.append(server)
    config = SmtpConfig(
        host="127.0.0.1",
        port=server.port,
        username=USER,
        password=PASSWORD,
        ca_file=str(server.ca_file),
    )
    provider = SmtpMailProvider(config, Sender("no-reply@bank.example"))
    harness.channels[Channel.MAIL] = FailoverChannel([provider], FAST)


@when("the flow asks for a code by SMS", target_fixture="reply")
def ask_by_sms(harness: Harness, sms_providers: SmsProviders, sms_setup: SmsSetup) -> Any:
    _wire_sms(harness, sms_providers, sms_setup)
    return harness.generate(clientId="c1")


@when(
    parsers.parse('the flow asks for a code by SMS for a contract numbered "{number}"'),
    target_fixture="reply",
)
def ask_by_sms_for_contract(
    harness: Harness, sms_providers: SmsProviders, sms_setup: SmsSetup, number: str
) -> Any:
    _wire_sms(harness, sms_providers, sms_setup)
    return harness.generate(clientId="c1", templateName="contract-sign", contractNumber=number)


@when("the flow asks for a code by MAIL", target_fixture="reply")
def ask_by_mail(harness: Harness) -> Any:
    return harness.generate(
        clientId="c1", channel="MAIL", templateName="otp-mail", recipient="ana@example.com"
    )


@then(parsers.parse('"{name}" was asked {count:d} times'))
def provider_asked(sms_providers: SmsProviders, name: str, count: int) -> None:
    assert sms_providers.calls[name] == count


@then(parsers.parse("the person received exactly {count:d} SMS"))
def person_received(sms_providers: SmsProviders, count: int) -> None:
    assert len(sms_providers.twilio) + len(sms_providers.webhook) == count


@then(parsers.re(r"the mail server received (?P<count>\d+) mails?"))
def mail_received(scripted_mail_server: list[MailServer], count: str) -> None:
    assert len(scripted_mail_server[0].inbox.messages) == int(count)
