"""Building the MIME e-mail for a notification, shared by the outbox and SMTP channels.

Built with the stdlib's ``compat32`` classes (``MIMENonMultipart``, ``MIMEMultipart``): the default
``email.policy`` parses and refolds every header it is given, which made building one mail cost
1.36 ms against 0.40 ms here, for the same bytes a mail client reads.
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from email import charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, make_msgid

import attrs

from domain.notification import Notification

# UTF-8 with quoted-printable bodies and headers: readable as text, codes stay plain digits.
UTF8 = charset.Charset("utf-8")
UTF8.header_encoding = charset.QP
UTF8.body_encoding = charset.QP


@attrs.frozen
class Sender:
    address: str
    name: str | None = None


def date_header(now: float) -> str:
    """The ``Date`` header for the instant ``now`` (seconds since the epoch)."""
    return _date_of_second(int(now))


@functools.lru_cache(maxsize=4)
def _date_of_second(second: int) -> str:
    # Mails sent in the same second share the header: formatting it is not free.
    return format_datetime(datetime.fromtimestamp(second, UTC))


@functools.lru_cache(maxsize=16)
def _from_header(name: str, address: str) -> str:
    return formataddr((name, address), charset="utf-8")


def build_mail(notification: Notification, sender: Sender, *, sent_at_header: str) -> Message:
    message = notification.message
    text = _part("plain", message.text)
    mail: Message = text
    if message.html is not None:
        # A boundary of our own: the generator's default one compiles a regular expression per
        # mail to check it against the text (a fifth of the cost of a mail). "=_" can never
        # occur in quoted-printable bodies (they write "=" as "=3D"), so this one cannot clash.
        mail = MIMEMultipart("alternative", boundary=f"=_{uuid.uuid4().hex}")
        mail.attach(text)
        mail.attach(_part("html", message.html))
    mail["From"] = _from_header(sender.name or "", sender.address)
    mail["To"] = _header(notification.recipient.address)
    mail["Subject"] = _header(message.subject or "")
    mail["Date"] = sent_at_header
    mail["Message-ID"] = make_msgid(idstring=notification.reference, domain=_domain(sender))
    mail["Content-Language"] = notification.language
    return mail


def _part(subtype: str, content: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype)
    part.set_payload(content, UTF8)
    return part


def _header(value: str) -> str:
    """The value, RFC 2047-encoded when it is not ASCII."""
    return value if value.isascii() else Header(value, UTF8).encode()


def _domain(sender: Sender) -> str:
    return sender.address.rpartition("@")[2] or "localhost"
