"""The MAIL channel as a plug-in: SMTP when SMTP_HOST is set, else `.eml` files in the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.channels.failover import FailoverChannel
from adapters.channels.mime import Sender
from adapters.channels.outbox import OutboxMailChannel
from adapters.channels.settings import MailSettings
from adapters.channels.smtp import SmtpMailProvider
from adapters.plugins import ChannelContext
from adapters.recipients import MailAddresses
from application.ports import MessageCheck, NotificationChannel
from domain.channel import Channel


class MailPlugin:
    channel = Channel.MAIL
    settings = MailSettings

    def recipient_rule(self, settings: MailSettings) -> MailAddresses:
        return MailAddresses()

    def message_check(self, settings: MailSettings) -> MessageCheck | None:
        return None

    def unconfigured(self, settings: MailSettings) -> str | None:
        return "SMTP_HOST" if settings.smtp is None else None

    @asynccontextmanager
    async def open(
        self, settings: MailSettings, context: ChannelContext
    ) -> AsyncIterator[NotificationChannel]:
        sender = Sender(settings.from_address, settings.from_name)
        if settings.smtp is None:
            yield OutboxMailChannel(context.outbox_dir, sender)
            return
        provider = SmtpMailProvider(settings.smtp, sender)
        try:
            yield FailoverChannel([provider], context.retry)
        finally:
            await provider.close()


PLUGIN = MailPlugin()
