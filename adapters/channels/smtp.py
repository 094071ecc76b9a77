"""MAIL over SMTP with aiosmtplib: plain, STARTTLS or implicit TLS, AUTH, one reused connection."""

from __future__ import annotations

import asyncio
import ssl
import time

import aiosmtplib
import attrs
import structlog

from adapters.channels.failover import PermanentDeliveryError, TransientDeliveryError
from adapters.channels.mime import Sender, build_mail, date_header
from domain.notification import Notification

log = structlog.get_logger(__name__)

SECURITY_MODES = ("starttls", "tls", "none")


@attrs.frozen(kw_only=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout: float = 15.0
    validate_certs: bool = True
    ca_file: str | None = None

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
            port=config.port,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=config.tls_context(),
            username=config.username,
            password=config.password,
            timeout=config.timeout,
        )
        await client.connect()
        log.info("smtp.connected", host=config.host, port=config.port, security=config.security)
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
