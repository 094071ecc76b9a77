"""The embedded default's channels: each MAIL or SMS becomes one file in an outbox folder."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from adapters.channels.mime import Sender, build_mail, date_header
from domain.notification import DeliveryResult, Notification


def _write_atomically(folder: Path, name: str, data: bytes) -> Path:
    final = folder / name
    partial = folder / f".{name}.part"
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except FileNotFoundError:
        # Each file holds a live code: readable by the service's own user only (0700 / 0600).
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    # A reader of the outbox never sees half a message.
    partial.replace(final)
    return final


def _file_name(notification: Notification, suffix: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{notification.reference}-{uuid.uuid4().hex[:6]}{suffix}"


async def _deliver(
    folder: Path, notification: Notification, suffix: str, data: bytes
) -> DeliveryResult:
    name = _file_name(notification, suffix)
    try:
        await asyncio.to_thread(_write_atomically, folder, name, data)
    except OSError as exc:
        return DeliveryResult(delivered=False, provider="outbox", reason=exc.strerror)
    return DeliveryResult(delivered=True, provider="outbox", provider_message_id=name)


class OutboxMailChannel:
    """Writes each mail as an ``.eml`` file any mail client opens."""

    def __init__(self, folder: Path, sender: Sender) -> None:
        self._folder = folder
        self._sender = sender

    async def send(self, notification: Notification) -> DeliveryResult:
        mail = build_mail(notification, self._sender, sent_at_header=date_header(time.time()))
        return await _deliver(self._folder, notification, ".eml", mail.as_bytes())


class OutboxSmsChannel:
    """Writes each SMS as a small ``.sms`` text file: the number, then the text."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def send(self, notification: Notification) -> DeliveryResult:
        body = (
            f"To: {notification.recipient.address}\n"
            f"Template: {notification.template_name} ({notification.language})\n"
            f"\n{notification.message.text}\n"
        )
        return await _deliver(self._folder, notification, ".sms", body.encode())
