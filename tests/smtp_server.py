"""A real SMTP server for tests (aiosmtpd on loopback): TLS, AUTH and scripted answers."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "otp-sender", "s3cret-smtp-pa55word"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Inbox:
    """The handler: keeps what it accepted, answers DATA from a script (then 250)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.messages: list[EmailMessage] = []
        self.peers: list[tuple[str, int]] = []
        # Every DATA payload, refused ones too: what the client tried to hand over.
        self.attempted: list[EmailMessage] = []

    @property
    def data_commands(self) -> int:
        return len(self.attempted)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.attempted.append(parsed)
        if self.answers:
            return self.answers.pop(0)
        self.messages.append(parsed)
        self.peers.append(session.peer)
        return "250 OK queued"

    def text_of(self, index: int = -1, *, attempted: bool = False) -> str:
        mail = (self.attempted if attempted else self.messages)[index]
        body = mail.get_body(("plain",))
        assert body is not None
        return str(body.get_content())


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@attrs.define
class MailServer:
    inbox: Inbox
    port: int
    security: str
    ca_file: Path
    controller: Controller

    def env(self) -> dict[str, str]:
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_SECURITY": self.security,
            "SMTP_USERNAME": USER,
            "SMTP_PASSWORD": PASSWORD,
            "SMTP_CA_FILE": str(self.ca_file),
            "SMTP_VALIDATE_CERTS": "true",
        }


@pytest.fixture(scope="session")
def certificate_authority(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A throwaway CA and a server certificate for 127.0.0.1, made by the test run."""
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("tls")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    return ca_file, server_context


def start_mail_server(
    tls: tuple[Path, ssl.SSLContext],
    security: str = "starttls",
    *answers: str,
    inbox: Inbox | None = None,
    port: int | None = None,
) -> MailServer:
    """A server on a free port; or, given the ``inbox`` and ``port`` of a stopped one, that
    server back on its port with what it had received."""
    ca_file, context = tls
    inbox = inbox or Inbox(*answers)
    port = port or free_port()
    options: dict[str, Any] = {
        "authenticator": _authenticator,
        "auth_required": True,
        # aiosmtpd counts only STARTTLS as TLS for this rule; implicit TLS is encrypted anyway.
        "auth_require_tls": security == "starttls",
    }
    if security == "starttls":
        options.update(tls_context=context, require_starttls=True)
    elif security == "tls":
        options.update(ssl_context=context)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return MailServer(inbox, port, security, ca_file, controller)


@pytest.fixture
def mail_server(certificate_authority: tuple[Path, ssl.SSLContext]) -> Iterator[MailServer]:
    server = start_mail_server(certificate_authority)
    yield server
    server.controller.stop()
