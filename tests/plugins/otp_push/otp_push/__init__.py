"""A PUSH channel for the OTP service: codes go to an app's device tokens; this one writes each
message to the service's outbox as a `.push` file, as a team would before its push gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from adapters.plugins import ChannelContext
from adapters.settings import Branch, branch_config
from application.ports import MessageCheck, NotificationChannel
from domain.channel import Channel
from domain.errors import DeliveryFailed, InvalidRecipient
from domain.notification import DeliveryResult, Notification
from domain.recipient import Recipient

PUSH = Channel("PUSH")
# The templates this channel comes with, to import or to copy into TEMPLATES_DIR.
TEMPLATES = Path(__file__).parent / "templates"


class PushSettings(Branch):
    model_config = branch_config("PUSH_")
    title: ClassVar[str] = "Push"

    app_name: str = "bank-app"
    """the app the codes are pushed to"""
    max_characters: int = Field(120, ge=20)
    """longer texts are refused before anything is counted"""


class DeviceTokens:
    """A device token the app registered: ``device:`` and 8 to 64 letters or digits."""

    def check(self, address: str) -> Recipient:
        token = address.removeprefix("device:")
        if token == address or not (8 <= len(token) <= 64 and token.isalnum()):
            raise InvalidRecipient("The recipient is not a device token (device:…).")
        return Recipient(PUSH, address)


class TextLength:
    def __init__(self, limit: int) -> None:
        self._limit = limit

    def cost(self, notification: Notification) -> int:
        if len(notification.message.text) > self._limit:
            raise DeliveryFailed(f"A push text holds at most {self._limit} characters.")
        return 1


class OutboxPushChannel:
    def __init__(self, folder: Path, app: str) -> None:
        self._folder = folder
        self._app = app

    async def send(self, notification: Notification) -> DeliveryResult:
        name = f"{notification.reference}.push"
        to, text = notification.recipient.address, notification.message.text
        text = f"App: {self._app}\nTo: {to}\n\n{text}\n"
        await asyncio.to_thread(self._write, name, text)
        return DeliveryResult(delivered=True, provider="push-outbox", provider_message_id=name)

    def _write(self, name: str, text: str) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        (self._folder / name).write_text(text)


class PushPlugin:
    channel = PUSH
    settings = PushSettings

    def recipient_rule(self, settings: PushSettings) -> DeviceTokens:
        return DeviceTokens()

    def message_check(self, settings: PushSettings) -> MessageCheck:
        return TextLength(settings.max_characters)

    def unconfigured(self, settings: PushSettings) -> str | None:
        return "PUSH_GATEWAY_URL"  # this one only writes to the outbox

    @asynccontextmanager
    async def open(
        self, settings: PushSettings, context: ChannelContext
    ) -> AsyncIterator[NotificationChannel]:
        yield OutboxPushChannel(context.outbox_dir, settings.app_name)


PLUGIN = PushPlugin()
