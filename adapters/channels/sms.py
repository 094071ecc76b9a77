"""The SMS channel as a plug-in: the providers SMS_PROVIDERS names (HTTP APIs, an SMPP SMSC), in
failover order, else `.sms` files in the outbox; numbers checked with phonenumbers; texts
refused past SMS_MAX_SEGMENTS parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from adapters.channels.failover import FailoverChannel, Provider
from adapters.channels.outbox import OutboxSmsChannel
from adapters.channels.receipts import DeliveryReceipts
from adapters.channels.resend import ResendingChannel
from adapters.channels.settings import SmsSettings
from adapters.channels.smpp import smpp_provider
from adapters.channels.sms_http import TwilioSmsProvider, WebhookSmsProvider
from adapters.channels.sms_segments import SmsLengthCheck
from adapters.channels.status_callbacks import status_callbacks
from adapters.plugins import ChannelContext
from adapters.recipients import PhoneNumbers
from application.ports import NotificationChannel, StatusCallback
from domain.channel import Channel


async def providers(
    sms: SmsSettings, stack: AsyncExitStack, receipts: DeliveryReceipts
) -> list[Provider]:
    """The SMS providers in the order SMS_PROVIDERS names them (failover order), open until
    ``stack`` closes."""
    built: dict[str, Provider] = {}
    if sms.twilio is not None or sms.webhook is not None:
        client = await stack.enter_async_context(
            httpx.AsyncClient(timeout=sms.http_timeout_seconds)
        )
        if sms.twilio is not None:
            built["twilio"] = TwilioSmsProvider(client, sms.twilio, receipts)
        if sms.webhook is not None:
            built["webhook"] = WebhookSmsProvider(client, sms.webhook, receipts)
    if sms.smpp is not None:
        built["smpp"] = await stack.enter_async_context(smpp_provider(sms.smpp, receipts))
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

    def status_callbacks(
        self, settings: SmsSettings, receipts: DeliveryReceipts
    ) -> dict[str, StatusCallback]:
        """The providers' status callbacks the settings ask for (``/v1/sms/status/{name}``)."""
        return status_callbacks(settings.twilio, settings.webhook, receipts)

    @asynccontextmanager
    async def open(
        self, settings: SmsSettings, context: ChannelContext
    ) -> AsyncIterator[NotificationChannel]:
        if not settings.providers:
            yield OutboxSmsChannel(context.outbox_dir)
            return
        async with AsyncExitStack() as stack:
            receipts = context.receipts or DeliveryReceipts(context.registry)
            chain = await providers(settings, stack, receipts)
            if not settings.resend_within_seconds:
                yield FailoverChannel(chain, context.retry)
                return
            resending = ResendingChannel(
                chain,
                context.retry,
                receipts,
                within_seconds=settings.resend_within_seconds,
                after_seconds=settings.resend_after_seconds,
                registry=context.registry,
            )
            stack.push_async_callback(resending.close)
            yield resending


PLUGIN = SmsPlugin()
