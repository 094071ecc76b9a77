"""Recipient checks with phonenumbers (E.164, country, number type) and email-validator (RFC 5322
syntax, no DNS)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import email_validator
import phonenumbers
from phonenumbers import PhoneNumberType

from application.ports import RecipientRule
from domain.channel import Channel, unsupported
from domain.errors import InvalidRecipient
from domain.recipient import Recipient

MAX_ADDRESS_LENGTH = 320

# phonenumbers' types by the names settings use; "satellite" is ours (see _kind).
NUMBER_TYPES = {
    "fixed_line": PhoneNumberType.FIXED_LINE,
    "mobile": PhoneNumberType.MOBILE,
    "fixed_line_or_mobile": PhoneNumberType.FIXED_LINE_OR_MOBILE,
    "toll_free": PhoneNumberType.TOLL_FREE,
    "premium_rate": PhoneNumberType.PREMIUM_RATE,
    "shared_cost": PhoneNumberType.SHARED_COST,
    "voip": PhoneNumberType.VOIP,
    "personal_number": PhoneNumberType.PERSONAL_NUMBER,
    "pager": PhoneNumberType.PAGER,
    "uan": PhoneNumberType.UAN,
    "voicemail": PhoneNumberType.VOICEMAIL,
    "unknown": PhoneNumberType.UNKNOWN,
}
KINDS = (*NUMBER_TYPES, "satellite")
DENIED_BY_DEFAULT = ("premium_rate", "shared_cost", "toll_free", "satellite", "unknown")
# Inmarsat (870) and the global mobile satellite systems (881: Iridium, Globalstar...).
SATELLITE_CODES = frozenset({870, 881})


def _kind(number: phonenumbers.PhoneNumber) -> str:
    if number.country_code in SATELLITE_CODES:
        return "satellite"
    found = phonenumbers.number_type(number)
    return next((name for name, kind in NUMBER_TYPES.items() if kind == found), "unknown")


class ChannelRecipients:
    """The recipient rule of each channel the deployment delivers; a channel without one is not
    supported (``UNSUPPORTED_CHANNEL``)."""

    def __init__(self, rules: Mapping[Channel, RecipientRule]) -> None:
        self._rules = dict(rules)

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(self._rules)

    def check(self, channel: Channel, address: str) -> Recipient:
        address = address.strip()
        if not address or len(address) > MAX_ADDRESS_LENGTH:
            raise InvalidRecipient("The recipient is empty or too long.")
        rule = self._rules.get(channel)
        if rule is None:
            raise unsupported(channel.value, self.channels)
        return rule.check(address)


class MailAddresses:
    """MAIL's rule: an RFC 5322 address (email-validator, no DNS), normalised."""

    def check(self, address: str) -> Recipient:
        try:
            checked = email_validator.validate_email(address, check_deliverability=False)
        except email_validator.EmailNotValidError as exc:
            raise InvalidRecipient(f"{address!r} is not a valid e-mail address: {exc}") from None
        return Recipient(Channel.MAIL, checked.normalized)


class PhoneNumbers:
    """SMS's rule: a valid number in E.164 (``default_region`` for numbers without ``+``);
    ``allowed_countries``: ISO 3166 region codes SMS may go to (empty: all); ``denied_types``:
    number kinds SMS never go to (premium rate pumps money out of the bank)."""

    def __init__(
        self,
        default_region: str | None = None,
        *,
        allowed_countries: Collection[str] = (),
        denied_types: Collection[str] = DENIED_BY_DEFAULT,
    ) -> None:
        self._region = default_region
        self._allowed = frozenset(c.upper() for c in allowed_countries)
        self._denied = frozenset(denied_types)

    def check(self, address: str) -> Recipient:
        try:
            number = phonenumbers.parse(address, self._region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise InvalidRecipient(
                f"{address!r} is not a valid phone number; use the E.164 form, e.g. +40722123456."
            )
        region = phonenumbers.region_code_for_number(number) or "001"
        if self._allowed and region not in self._allowed:
            raise InvalidRecipient(
                f"SMS are not sent to numbers of {region} (+{number.country_code}) here."
            )
        kind = _kind(number)
        if kind in self._denied:
            raise InvalidRecipient(
                f"SMS are not sent to {kind.replace('_', ' ')} numbers; use a mobile number."
            )
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return Recipient(Channel.SMS, e164, calling_code=number.country_code)
