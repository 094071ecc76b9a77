"""The outbox channels write what a person would receive, as files a mail client can open."""

from __future__ import annotations

import asyncio
import email
import email.policy
from pathlib import Path

import pytest

from adapters.channels.mime import Sender
from adapters.channels.outbox import OutboxMailChannel, OutboxSmsChannel
from domain.channel import Channel
from domain.notification import Notification
from domain.recipient import Recipient
from domain.template import RenderedMessage

pytestmark = pytest.mark.integration


def _notification(channel: Channel, address: str, message: RenderedMessage) -> Notification:
    return Notification(
        reference="ref1",
        recipient=Recipient(channel, address),
        template_name="otp",
        language="ro",
        message=message,
    )


def test_a_mail_is_a_multipart_eml_with_encoded_non_ascii_headers(tmp_path: Path) -> None:
    channel = OutboxMailChannel(tmp_path, Sender("no-reply@bank.example", "Bancă"))
    message = RenderedMessage(
        subject="Codul tău", text="Codul este 482913", html="<p>Codul este <b>482913</b></p>"
    )
    result = asyncio.run(channel.send(_notification(Channel.MAIL, "ana@example.com", message)))
    assert result.delivered
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1 and files[0].name == result.provider_message_id
    raw = files[0].read_bytes()
    assert b"Codul t\xc4\x83u" not in raw.split(b"\n\n")[0]  # headers are RFC 2047 encoded
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Codul tău"
    assert parsed["To"] == "ana@example.com"
    assert parsed["Message-ID"] and parsed["Date"]
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and "482913" in text.get_content()
    assert html is not None and "<b>482913</b>" in html.get_content()


def test_an_sms_is_a_small_file_with_the_number_and_the_text(tmp_path: Path) -> None:
    channel = OutboxSmsChannel(tmp_path)
    message = RenderedMessage(text="Codul 482913")
    result = asyncio.run(channel.send(_notification(Channel.SMS, "+40722123456", message)))
    assert result.delivered
    (sms,) = tmp_path.glob("*.sms")
    content = sms.read_text()
    assert content.startswith("To: +40722123456\n")
    assert content.rstrip().endswith("Codul 482913")


def test_an_unwritable_outbox_is_a_failed_delivery(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    channel = OutboxSmsChannel(blocker / "outbox")
    result = asyncio.run(
        channel.send(_notification(Channel.SMS, "+40722123456", RenderedMessage(text="x")))
    )
    assert not result.delivered and result.reason
