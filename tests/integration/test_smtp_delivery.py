"""MAIL over SMTP against a real aiosmtpd server: TLS modes, AUTH, retries, refusals, secrets."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from adapters.channels.failover import FailoverChannel, RetryPolicy
from adapters.channels.mime import Sender
from adapters.channels.smtp import SmtpConfig, SmtpMailProvider
from domain.channel import Channel
from tests.harness import Harness
from tests.outbox import code_in
from tests.smtp_server import PASSWORD, USER, MailServer, free_port, start_mail_server

pytestmark = [pytest.mark.integration, pytest.mark.smtp]

FAST = RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.05)
BANK = Sender("no-reply@bank.example", "Banca Exemplu")
MAIL = {"templateName": "otp-mail", "channel": "MAIL", "recipient": "ana@example.com"}


def use_smtp(
    harness: Harness,
    server: MailServer | None,
    sender: Sender = BANK,
    password: str = PASSWORD,
) -> SmtpMailProvider:
    config = SmtpConfig(
        host="127.0.0.1",
        port=server.port if server else free_port(),
        security=server.security if server else "starttls",
        username=USER,
        password=password,
        ca_file=str(server.ca_file) if server else None,
        timeout_seconds=5,
    )
    provider = SmtpMailProvider(config, sender)
    harness.channels[Channel.MAIL] = FailoverChannel([provider], FAST)
    return provider


@pytest.fixture
def tls(certificate_authority: tuple[Path, ssl.SSLContext]) -> tuple[Path, ssl.SSLContext]:
    return certificate_authority


@pytest.fixture
def servers() -> Iterator[list[MailServer]]:
    started: list[MailServer] = []
    yield started
    for server in started:
        server.controller.stop()


@pytest.mark.parametrize("security", ["starttls", "tls", "none"])
def test_a_code_mailed_with_auth_in_each_security_mode_arrives_and_validates(
    harness: Harness, tls: tuple[Path, ssl.SSLContext], servers: list[MailServer], security: str
) -> None:
    server = start_mail_server(tls, security)
    servers.append(server)
    provider = use_smtp(harness, server)
    reply = harness.generate(**MAIL, clientId="c1", data={"firstName": "Ana"})
    assert reply["otpSent"] is True, reply
    (mail,) = server.inbox.messages
    assert mail["To"] == "ana@example.com"
    assert mail["From"] == "Banca Exemplu <no-reply@bank.example>"
    assert mail["Message-ID"] and mail["Date"] and mail["Subject"]
    assert mail.get_content_type() == "multipart/alternative"
    code = code_in(server.inbox.text_of())
    assert harness.validate(code, channel="MAIL")["otpValid"] is True
    harness.run(provider.close())


def test_one_connection_carries_several_mails(
    harness: Harness, tls: tuple[Path, ssl.SSLContext], servers: list[MailServer]
) -> None:
    server = start_mail_server(tls, "starttls")
    servers.append(server)
    provider = use_smtp(harness, server)
    for client in ("c1", "c2", "c3"):
        assert harness.generate(**MAIL, clientId=client)["otpSent"] is True
    assert len(server.inbox.messages) == 3
    assert len(set(server.inbox.peers)) == 1
    harness.run(provider.close())


def test_a_non_ascii_subject_and_sender_name_are_encoded(
    harness: Harness, tls: tuple[Path, ssl.SSLContext], servers: list[MailServer]
) -> None:
    server = start_mail_server(tls, "starttls")
    servers.append(server)
    provider = use_smtp(harness, server, Sender("no-reply@bank.example", "Bancă Exemplu"))
    assert harness.generate(**MAIL, clientId="c1", language="ro")["otpSent"] is True
    (raw,) = server.inbox.messages
    assert raw["Subject"] == "Codul tău de verificare"
    assert raw["From"] == "Bancă Exemplu <no-reply@bank.example>"
    headers = raw.as_bytes().split(b"\n\n", 1)[0]
    assert b"=?utf-8?" in headers.lower() and "ă".encode() not in headers
    harness.run(provider.close())


def test_451_then_250_is_retried_and_sent_once(
    harness: Harness, tls: tuple[Path, ssl.SSLContext], servers: list[MailServer]
) -> None:
    server = start_mail_server(tls, "starttls", "451 4.3.0 Try again later")
    servers.append(server)
    provider = use_smtp(harness, server)
    with structlog.testing.capture_logs() as logs:
        reply = harness.generate(**MAIL, clientId="c1")
    assert reply["otpSent"] is True
    assert server.inbox.data_commands == 2 and len(server.inbox.messages) == 1
    (generated,) = [e for e in logs if e["event"] == "otp.generated"]
    assert generated["delivered"] is True
    harness.run(provider.close())


def test_550_is_refused_at_once_with_a_reason(
    harness: Harness, tls: tuple[Path, ssl.SSLContext], servers: list[MailServer]
) -> None:
    server = start_mail_server(tls, "starttls", "550 5.1.1 No such mailbox")
    servers.append(server)
    provider = use_smtp(harness, server)
    reply = harness.generate(**MAIL, clientId="c1")
    assert (reply["otpSent"], reply["errorCode"]) == (False, "DELIVERY_FAILED")
    assert "SMTP 550" in reply["error"] and "No such mailbox" in reply["error"]
    assert server.inbox.data_commands == 1
    harness.run(provider.close())


def test_a_down_server_is_retried_a_bounded_number_of_times(harness: Harness) -> None:
    use_smtp(harness, None)
    with structlog.testing.capture_logs() as logs:
        reply = harness.generate(**MAIL, clientId="c1")
    assert (reply["otpSent"], reply["errorCode"]) == (False, "DELIVERY_FAILED")
    (failed,) = [e for e in logs if e["event"] == "delivery.provider_failed"]
    assert failed["attempts"] == 3


def test_a_failing_delivery_logs_neither_the_password_nor_the_code(
    harness: Harness, tls: tuple[Path, ssl.SSLContext], servers: list[MailServer]
) -> None:
    server = start_mail_server(tls, "starttls", *["451 4.7.0 Busy"] * 3)
    servers.append(server)
    provider = use_smtp(harness, server)
    with structlog.testing.capture_logs() as logs:
        reply = harness.generate(**MAIL, clientId="c1")
    assert reply["errorCode"] == "DELIVERY_FAILED"
    code = code_in(server.inbox.text_of(attempted=True))
    assert server.inbox.data_commands == 3
    rendered = repr(logs) + repr(reply)
    assert "delivery.provider_failed" in rendered
    assert PASSWORD not in rendered and code not in rendered
    harness.run(provider.close())


def test_a_wrong_password_is_a_permanent_refusal(
    harness: Harness, tls: tuple[Path, ssl.SSLContext], servers: list[MailServer]
) -> None:
    server = start_mail_server(tls, "starttls")
    servers.append(server)
    provider = use_smtp(harness, server, password="not-it")
    with structlog.testing.capture_logs() as logs:
        reply = harness.generate(**MAIL, clientId="c1")
    assert (reply["otpSent"], reply["errorCode"]) == (False, "DELIVERY_FAILED")
    assert "SMTP 535" in reply["error"]
    assert "not-it" not in repr(logs) + repr(reply)
    harness.run(provider.close())
