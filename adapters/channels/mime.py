"""Building the MIME e-mail for a notification, shared by the outbox and SMTP channels."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import attrs

from domain.notification import Notification


@attrs.frozen
class Sender:
    address: str
    name: str | None = None


def build_mail(notification: Notification, sender: Sender, *, sent_at_header: str) -> EmailMessage:
    message = notification.message
    mail = EmailMessage()
    mail["From"] = formataddr((sender.name or "", sender.address))
    mail["To"] = notification.recipient.address
    mail["Subject"] = message.subject or ""
    mail["Date"] = sent_at_header
    mail["Message-ID"] = make_msgid(idstring=notification.reference, domain=_domain(sender))
    mail["Content-Language"] = notification.language
    mail.set_content(message.text)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
    return mail


def _domain(sender: Sender) -> str:
    return sender.address.rpartition("@")[2] or "localhost"
