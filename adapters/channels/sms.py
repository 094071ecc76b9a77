"""The SMS channel as a plug-in: the providers SMS_PROVIDERS names, in failover order, else
`.sms` files in the outbox; numbers checked with phonenumbers; texts refused past
SMS_MAX_SEGMENTS parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from adapters.channels.failover import FailoverChannel, Provider
from adapters.channels.outbox import OutboxSmsChannel
from adapters.channels.settings import SmsSettings
from adapters.channels.sms_http import TwilioSmsProvider, WebhookSmsProvider
from adapters.channels.sms_segments import SmsLengthCheck
from adapters.plugins import ChannelContext
from adapters.recipients import PhoneNumbers
from application.ports import NotificationChannel
from domain.channel import Channel


def providers(sms: SmsSettings, client: httpx.AsyncClient) -> list[Provider]:
    """The SMS providers in the order SMS_PROVIDERS names them (failover order)."""
    built: dict[str, Provider] = {}
    if sms.twilio is not None:
        built["twilio"] = TwilioSmsProvider(client, sms.twilio)
    if sms.webhook is not None:
        built["webhook"] = WebhookSmsProvider(client, sms.webhook)
    return [built[name] for name in sms.providers]


class SmsPlugin:
    channel = Channel.SMS
    settings = SmsSettings

    def recipient_rule(self, settings: SmsSettings) -> PhoneNumbers:
        return PhoneNumbers(
            settings.default_region,
            allowed_countries=settings.allowed_countries,
            denied_types=settings.denied_number_types,
        )

    def message_check(self, settings: SmsSettings) -> SmsLengthCheck:
        return SmsLengthCheck(settings.max_segments)

    def unconfigured(self, settings: SmsSettings) -> str | None:
        return None if settings.providers else "SMS_PROVIDERS"

    @asynccontextmanager
    async def open(
        self, settings: SmsSettings, context: ChannelContext
    ) -> AsyncIterator[NotificationChannel]:
        if not settings.providers:
            yield OutboxSmsChannel(context.outbox_dir)
            return
        async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as client:
            yield FailoverChannel(providers(settings, client), context.retry)


PLUGIN = SmsPlugin()
