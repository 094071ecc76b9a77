"""MAIL over SMTP with aiosmtplib: plain, STARTTLS or implicit TLS, AUTH, one reused connection."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Annotated, ClassVar, Literal

import aiosmtplib
import structlog
from pydantic import Field

from adapters.channels.failover import PermanentDeliveryError, TransientDeliveryError
from adapters.channels.mime import Sender, build_mail, date_header
from adapters.settings import Branch, Lower, ReadableFile, Seconds, aka, branch_config, shown
from domain.notification import Notification

log = structlog.get_logger(__name__)

DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}


class SmtpConfig(Branch):
    """The SMTP server mails go through; without SMTP_HOST they go to the outbox."""

    model_config = branch_config("SMTP_")
    key: ClassVar[str | None] = "host"

    host: str = Field(
        validation_alias=aka("SMTP_HOST", "SIMPLEJAVAMAIL_SMTP_HOST"),
        json_schema_extra=shown("unset: mails go to the outbox"),
    )
    """SMTP server"""
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        validation_alias=aka("SMTP_PORT", "SIMPLEJAVAMAIL_SMTP_PORT"),
        json_schema_extra=shown("587 / 465 / 25 by security"),
    )
    """SMTP port"""
    security: Annotated[Literal["starttls", "tls", "none"], Lower] = "starttls"
    """`starttls`, `tls` (implicit) or `none`"""
    username: str | None = Field(
        None, validation_alias=aka("SMTP_USERNAME", "SIMPLEJAVAMAIL_SMTP_USERNAME")
    )
    """AUTH user name"""
    password: str | None = Field(
        None, repr=False, validation_alias=aka("SMTP_PASSWORD", "SIMPLEJAVAMAIL_SMTP_PASSWORD")
    )
    """AUTH password"""
    timeout_seconds: Seconds = 15.0
    """connect and command timeout"""
    validate_certs: bool = True
    """check the server's TLS certificate"""
    ca_file: Annotated[str | None, ReadableFile] = Field(
        None, json_schema_extra=shown("system CAs")
    )
    """CA bundle for the server's certificate"""

    @property
    def server_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    def tls_context(self) -> ssl.SSLContext | None:
        if self.security == "none":
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _classify(code: int, message: str) -> TransientDeliveryError | PermanentDeliveryError:
    # The server's words are kept short: they never hold our secrets, but may be long.
    reason = f"SMTP {code} {message.strip()[:120]}".strip()
    if 400 <= code < 500:
        return TransientDeliveryError(reason)
    return PermanentDeliveryError(reason)


class SmtpMailProvider:
    """Sends over one connection kept open between mails; a broken one is replaced on retry."""

    name = "smtp"

    def __init__(self, config: SmtpConfig, sender: Sender) -> None:
        self._config = config
        self._sender = sender
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def deliver(self, notification: Notification) -> str | None:
        mail = build_mail(notification, self._sender, sent_at_header=date_header(time.time()))
        async with self._lock:
            try:
                client = await self._connected()
                await client.send_message(mail)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0]
                raise _classify(refused.code, refused.message) from None
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code in (421, 451) or exc.code >= 500:
                    await self._drop()
                raise _classify(exc.code, exc.message) from None
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self._drop()
                raise TransientDeliveryError(
                    f"SMTP connection failed: {type(exc).__name__}"
                ) from None
        return str(mail["Message-ID"])

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.server_port,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=config.tls_context(),
            username=config.username,
            password=config.password,
            timeout=config.timeout_seconds,
        )
        await client.connect()
        log.info(
            "smtp.connected", host=config.host, port=config.server_port, security=config.security
        )
        self._client = client
        return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()
