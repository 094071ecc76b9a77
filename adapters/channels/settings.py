"""The channels' branches of the settings: MAIL, SMS, and how deliveries are retried."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from adapters.channels.failover import RetryPolicy
from adapters.channels.smpp import SmppConfig
from adapters.channels.sms_http import TwilioConfig, WebhookConfig
from adapters.channels.smtp import SmtpConfig
from adapters.recipients import DENIED_BY_DEFAULT, KINDS
from adapters.settings import (
    AtLeastOne,
    Branch,
    Lower,
    LowerWords,
    Seconds,
    Upper,
    UpperWords,
    Wait,
    aka,
    branch_config,
    section,
    shown,
)

_RETRY = RetryPolicy()
TITLE = "Messages and delivery"
# Listed with the other abuse caps in the configuration reference.
ABUSE = section("Abuse caps")


class DeliverySettings(Branch):
    model_config = branch_config("DELIVERY_")
    title: ClassVar[str] = TITLE

    mode: Annotated[Literal["auto", "outbox"], Lower] = Field("auto", validation_alias="DELIVERY")
    """`outbox`: with MongoDB or Kafka set, write codes of channels without a provider to
    `OUTBOX_DIR` (without it the service refuses to start)"""
    attempts: AtLeastOne = _RETRY.attempts
    """tries per provider for transient failures"""
    backoff_initial_seconds: Wait = _RETRY.wait_initial
    """first wait between tries (exponential, with jitter)"""
    backoff_max_seconds: Wait = _RETRY.wait_max
    """longest wait between tries"""
    timeout_seconds: Seconds = _RETRY.timeout
    """total time per provider"""

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.attempts,
            wait_initial=self.backoff_initial_seconds,
            wait_max=self.backoff_max_seconds,
            timeout=self.timeout_seconds,
        )


class MailSettings(Branch):
    model_config = branch_config("MAIL_")
    title: ClassVar[str] = TITLE

    from_address: str = Field(
        "no-reply@otp.local",
        validation_alias=aka("MAIL_FROM_ADDRESS", "APPLICATION_MAIL_FROM_EMAIL"),
    )
    """sender address"""
    from_name: str = Field(
        "OTP service", validation_alias=aka("MAIL_FROM_NAME", "APPLICATION_MAIL_FROM_NAME")
    )
    """sender name"""
    smtp: SmtpConfig | None = None


SMS_PROVIDERS = ("twilio", "webhook", "smpp")


class SmsSettings(Branch):
    model_config = branch_config("SMS_")
    title: ClassVar[str] = TITLE

    default_region: Annotated[str | None, Upper] = None
    """region (e.g. `RO`) for numbers given without `+`; none means E.164 only"""
    providers: Annotated[tuple[str, ...], LowerWords] = Field(
        (), json_schema_extra=shown("unset: SMS go to the outbox")
    )
    """`twilio`, `webhook`, `smpp`, comma-separated in failover order"""
    allowed_countries: Annotated[tuple[str, ...], UpperWords] = Field(
        (), json_schema_extra={**shown("all"), **ABUSE}
    )
    """ISO 3166 codes SMS may go to, e.g. `RO,MD`"""
    denied_number_types: Annotated[tuple[str, ...], LowerWords] = Field(
        DENIED_BY_DEFAULT, json_schema_extra=ABUSE
    )
    """number types SMS never go to (`fixed_line`, `mobile`, `fixed_line_or_mobile`, `voip`,
    `personal_number`, `pager`, `uan`, `voicemail` too)"""
    twilio: TwilioConfig | None = None
    webhook: WebhookConfig | None = None
    smpp: SmppConfig | None = None
    max_segments: AtLeastOne = 3
    """longer texts are refused before sending"""
    http_timeout_seconds: Seconds = 10.0
    """HTTP timeout towards SMS providers"""
    resend_within_seconds: Wait = 0.0
    """an SMS reported undelivered within this many seconds of its sending (an SMPP receipt, a
    status callback) is sent once more, same text and code, through the providers after the
    one that took it; 0: never (keep it below the code's lifetime, `OTP_TTL_SECONDS`)"""
    resend_after_seconds: Seconds | None = None
    """with `SMS_RESEND_WITHIN_SECONDS`: also resend when no report came within this many
    seconds (at most `SMS_RESEND_WITHIN_SECONDS`); unset: only on an undelivered report"""

    @field_validator("allowed_countries")
    @classmethod
    def _countries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(len(c) != 2 or not c.isalpha() for c in value):
            raise ValueError("lists ISO 3166 codes such as RO,DE,FR")
        return value

    @field_validator("denied_number_types")
    @classmethod
    def _kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(KINDS))
        if unknown:
            raise ValueError(f"names unknown kinds {unknown}; use {', '.join(KINDS)}")
        return value

    @field_validator("resend_after_seconds")
    @classmethod
    def _within(cls, value: float | None, info: ValidationInfo) -> float | None:
        within = info.data.get("resend_within_seconds")
        if value is not None and within is not None and not value <= within:
            raise ValueError("must be at most SMS_RESEND_WITHIN_SECONDS, which must be set")
        return value

    @field_validator("providers")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in SMS_PROVIDERS]
        if unknown:
            raise ValueError(f"names unknown providers {unknown}; use {', '.join(SMS_PROVIDERS)}")
        return value
