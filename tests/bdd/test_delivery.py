"""Scenarios of features/delivery.feature, against a real SMTP server and SMS provider API."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from pytest_bdd import given, scenarios, then, when

from adapters.channels.failover import FailoverChannel, Provider, RetryPolicy
from adapters.channels.mime import Sender
from adapters.channels.sms_segments import SmsLengthCheck
from adapters.channels.smtp import SmtpConfig, SmtpMailProvider
from domain.channel import Channel
from tests.harness import Harness
from tests.sms_server import SmsProviders
from tests.smtp_server import PASSWORD, USER, MailServer, start_mail_server

scenarios("delivery.feature")

FAST = RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.05)


@attrs.frozen
class SmsSetup:
    """The SMS providers in failover order, and the longest SMS allowed; Given steps return a
    changed copy (``target_fixture``)."""

    names: tuple[str, ...] = ("twilio",)
    max_segments: int = 3


@pytest.fixture
def sms_setup() -> SmsSetup:
    return SmsSetup()


@pytest.fixture
def sms_service(harness: Harness, sms_providers: SmsProviders, sms_setup: SmsSetup) -> Harness:
    """The service with the SMS providers the Given steps described, wired when first used."""
    _wire_sms(harness, sms_providers, sms_setup)
    return harness


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
        "twilio": providers.twilio_provider(client),
        "webhook": providers.webhook_provider(client),
    }
    channel = FailoverChannel([built[n] for n in setup.names], FAST)
    harness.channels[Channel.SMS] = channel
    harness.checks[Channel.SMS] = SmsLengthCheck(setup.max_segments)


# The product owner's words, and what they mean here: the main provider is the Twilio-compatible
# API, the backup the webhook; "briefly overloaded" is one 429, "down" three 500s (every retry),
# "refuses for good" a 400. Provider call counts are checked in tests/integration.
MAIN, BACKUP = "twilio", "webhook"
LONG_ROMANIAN_NAME = "ȘȚĂÎÂșțăîâ" * 5 + "ȘȚĂÎÂ"


@given("there is a backup SMS provider", target_fixture="sms_setup")
def backup_provider(sms_setup: SmsSetup) -> SmsSetup:
    return attrs.evolve(sms_setup, names=(MAIN, BACKUP))


@given("the main SMS provider is briefly overloaded")
def main_overloaded(sms_providers: SmsProviders) -> None:
    sms_providers.script[MAIN] = [429]


@given("the main SMS provider is down")
def main_down(sms_providers: SmsProviders) -> None:
    sms_providers.script[MAIN] = [500] * FAST.attempts


@given("the main SMS provider refuses the message for good")
def main_refuses(sms_providers: SmsProviders) -> None:
    sms_providers.script[MAIN] = [400]


@given("an SMS may be only one part long", target_fixture="sms_setup")
def one_segment(sms_setup: SmsSetup) -> SmsSetup:
    return attrs.evolve(sms_setup, max_segments=1)


def _mail_server(
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


@given("the mail server is briefly busy")
def mail_busy(
    harness: Harness,
    certificate_authority: tuple[Path, ssl.SSLContext],
    scripted_mail_server: list[MailServer],
) -> None:
    _mail_server(harness, certificate_authority, scripted_mail_server, "451 4.3.0 Try again later")


@given("the customer's mailbox does not exist")
def no_mailbox(
    harness: Harness,
    certificate_authority: tuple[Path, ssl.SSLContext],
    scripted_mail_server: list[MailServer],
) -> None:
    _mail_server(harness, certificate_authority, scripted_mail_server, "550 5.1.1 No such mailbox")


@when("the flow asks for a code by SMS", target_fixture="reply")
def ask_by_sms(sms_service: Harness) -> Any:
    return sms_service.generate(clientId="c1")


@when(
    "the flow asks for a code by SMS for a contract with a long Romanian name",
    target_fixture="reply",
)
def ask_by_sms_for_contract(sms_service: Harness) -> Any:
    return sms_service.generate(
        clientId="c1", templateName="contract-sign", contractNumber=LONG_ROMANIAN_NAME
    )


@when("the flow asks for a code by MAIL", target_fixture="reply")
def ask_by_mail(harness: Harness) -> Any:
    return harness.generate(
        clientId="c1", channel="MAIL", templateName="otp-mail", recipient="ana@example.com"
    )


@then("the customer receives one SMS")
def one_sms(sms_providers: SmsProviders) -> None:
    assert len(sms_providers.twilio) + len(sms_providers.webhook) == 1


@then("the customer receives one SMS, through the backup provider")
def one_sms_through_backup(sms_providers: SmsProviders) -> None:
    assert (len(sms_providers.twilio), len(sms_providers.webhook)) == (0, 1)


@then("the customer receives nothing")
def no_sms(sms_providers: SmsProviders) -> None:
    assert len(sms_providers.twilio) + len(sms_providers.webhook) == 0


@then("the backup provider was not troubled")
def backup_untouched(sms_providers: SmsProviders) -> None:
    assert sms_providers.calls[BACKUP] == 0


@then("the customer receives one e-mail")
def one_mail(scripted_mail_server: list[MailServer]) -> None:
    assert len(scripted_mail_server[0].inbox.messages) == 1


@then("the customer receives no e-mail")
def no_mail(scripted_mail_server: list[MailServer]) -> None:
    assert scripted_mail_server[0].inbox.messages == []


@then("the reason given is that the text needs more SMS parts than allowed")
def too_many_parts(reply: dict[str, Any]) -> None:
    # Operators call the parts of a long SMS segments; the reply says how many it needed.
    assert re.search(r"would take \d+ segments and at most \d+ are allowed", reply["error"])
