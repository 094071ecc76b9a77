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
from application.ports import NotificationChannel
from domain.channel import Channel
from domain.errors import DeliveryFailed
from domain.notification import Notification

# RFC 5322's limit for a header line; a subject past it is a template's mistake, not a mail.
MAX_SUBJECT = 998


class MailSubjectCheck:
    """Refuses, before anything is counted or stored, a mail whose subject renders empty (a
    parameter missing or blank) or past a header line's length; a mail costs one."""

    def cost(self, notification: Notification) -> int:
        subject = (notification.message.subject or "").strip()
        if not subject:
            raise DeliveryFailed(
                "The code could not be delivered: the mail's subject would be empty; check the "
                "template's subject and the parameters it uses."
            )
        if len(subject) > MAX_SUBJECT:
            raise DeliveryFailed(
                f"The code could not be delivered: the mail's subject would take {len(subject)} "
                f"characters and at most {MAX_SUBJECT} are allowed; shorten the template or its "
                "parameters."
            )
        return 1


class MailPlugin:
    channel = Channel.MAIL
    settings = MailSettings

    def recipient_rule(self, settings: MailSettings) -> MailAddresses:
        return MailAddresses()

    def message_check(self, settings: MailSettings) -> MailSubjectCheck:
        return MailSubjectCheck()

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
