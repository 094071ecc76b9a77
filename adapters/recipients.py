"""Recipient checks with phonenumbers (E.164) and email-validator (RFC 5322 syntax, no DNS)."""

from __future__ import annotations

import email_validator
import phonenumbers

from domain.channel import Channel
from domain.errors import InvalidRecipient
from domain.recipient import Recipient

MAX_ADDRESS_LENGTH = 320


class LibraryRecipientValidator:
    def __init__(self, default_region: str | None = None) -> None:
        self._region = default_region

    def check(self, channel: Channel, address: str) -> Recipient:
        address = address.strip()
        if not address or len(address) > MAX_ADDRESS_LENGTH:
            raise InvalidRecipient("The recipient is empty or too long.")
        if channel is Channel.SMS:
            return Recipient(channel, self._phone(address))
        return Recipient(channel, self._mail(address))

    def _phone(self, address: str) -> str:
        try:
            number = phonenumbers.parse(address, self._region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise InvalidRecipient(
                f"{address!r} is not a valid phone number; use the E.164 form, e.g. +40722123456."
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _mail(self, address: str) -> str:
        try:
            checked = email_validator.validate_email(address, check_deliverability=False)
        except email_validator.EmailNotValidError as exc:
            raise InvalidRecipient(f"{address!r} is not a valid e-mail address: {exc}") from None
        return checked.normalized
