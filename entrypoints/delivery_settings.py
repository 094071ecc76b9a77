"""Delivery settings: SMTP, SMS providers, retries (each variable is in the README table)."""

from __future__ import annotations

import attrs

from adapters.channels.failover import RetryPolicy
from adapters.channels.sms_http import TwilioConfig, WebhookConfig
from adapters.channels.smtp import SECURITY_MODES, SmtpConfig
from entrypoints.environment import Environment, SettingsError

SMS_PROVIDER_NAMES = ("twilio", "webhook")
DEFAULT_SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}


@attrs.frozen(kw_only=True)
class DeliverySettings:
    smtp: SmtpConfig | None
    sms_providers: tuple[str, ...]
    twilio: TwilioConfig | None
    webhook: WebhookConfig | None
    sms_max_segments: int
    http_timeout: float
    retry: RetryPolicy

    @classmethod
    def from_environment(cls, e: Environment) -> DeliverySettings:
        providers = tuple(p.strip().lower() for p in e.sms_providers.split(",") if p.strip())
        unknown = [p for p in providers if p not in SMS_PROVIDER_NAMES]
        if unknown:
            raise SettingsError(
                f"SMS_PROVIDERS names unknown providers {unknown}; use {SMS_PROVIDER_NAMES}"
            )
        return cls(
            smtp=_smtp(e),
            sms_providers=providers,
            twilio=_twilio(e) if "twilio" in providers else None,
            webhook=_webhook(e) if "webhook" in providers else None,
            sms_max_segments=e.sms_max_segments,
            http_timeout=e.sms_http_timeout_seconds,
            retry=RetryPolicy(
                attempts=e.delivery_attempts,
                wait_initial=e.delivery_backoff_initial_seconds,
                wait_max=e.delivery_backoff_max_seconds,
                timeout=e.delivery_timeout_seconds,
            ),
        )


def _smtp(e: Environment) -> SmtpConfig | None:
    if e.smtp_host is None:
        return None
    security = e.smtp_security.lower()
    if security not in SECURITY_MODES:
        raise SettingsError(f"SMTP_SECURITY must be one of {SECURITY_MODES}")
    return SmtpConfig(
        host=e.smtp_host,
        port=e.smtp_port if e.smtp_port is not None else DEFAULT_SMTP_PORTS[security],
        security=security,
        username=e.smtp_username,
        password=e.smtp_password,
        timeout=e.smtp_timeout_seconds,
        validate_certs=e.smtp_validate_certs,
        ca_file=e.smtp_ca_file,
    )


def _required(value: str | None, name: str, why: str) -> str:
    if value is None:
        raise SettingsError(f"{name} is required {why}")
    return value


def _twilio(e: Environment) -> TwilioConfig:
    why = "when SMS_PROVIDERS lists twilio"
    return TwilioConfig(
        account_sid=_required(e.twilio_account_sid, "TWILIO_ACCOUNT_SID", why),
        auth_token=_required(e.twilio_auth_token, "TWILIO_AUTH_TOKEN", why),
        sender=_required(e.twilio_from, "TWILIO_FROM", why),
        base_url=e.twilio_base_url,
    )


def _webhook(e: Environment) -> WebhookConfig:
    return WebhookConfig(
        url=_required(e.sms_webhook_url, "SMS_WEBHOOK_URL", "when SMS_PROVIDERS lists webhook"),
        token=e.sms_webhook_token,
    )
