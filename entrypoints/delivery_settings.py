"""Delivery settings: SMTP, SMS providers, retries (each variable is in the README table)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from adapters.channels.failover import RetryPolicy
from adapters.channels.sms_http import TwilioConfig, WebhookConfig
from adapters.channels.smtp import SECURITY_MODES, SmtpConfig
from entrypoints.settings_env import SettingsError, env_bool, env_float, env_int, optional, text

SMS_PROVIDER_NAMES = ("twilio", "webhook")
DEFAULT_SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}


@attrs.frozen(kw_only=True)
class DeliverySettings:
    smtp: SmtpConfig | None = None
    sms_providers: tuple[str, ...] = ()
    twilio: TwilioConfig | None = None
    webhook: WebhookConfig | None = None
    sms_max_segments: int = 3
    http_timeout: float = 10.0
    retry: RetryPolicy = RetryPolicy()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeliverySettings:
        providers = tuple(
            p.strip().lower() for p in text(env, "", "SMS_PROVIDERS").split(",") if p.strip()
        )
        unknown = [p for p in providers if p not in SMS_PROVIDER_NAMES]
        if unknown:
            raise SettingsError(
                f"SMS_PROVIDERS names unknown providers {unknown}; use {SMS_PROVIDER_NAMES}"
            )
        return cls(
            smtp=_smtp(env),
            sms_providers=providers,
            twilio=_twilio(env) if "twilio" in providers else None,
            webhook=_webhook(env) if "webhook" in providers else None,
            sms_max_segments=env_int(env, 3, "SMS_MAX_SEGMENTS"),
            http_timeout=env_float(env, 10.0, "SMS_HTTP_TIMEOUT_SECONDS"),
            retry=RetryPolicy(
                attempts=env_int(env, 3, "DELIVERY_ATTEMPTS"),
                wait_initial=env_float(env, 0.5, "DELIVERY_BACKOFF_INITIAL_SECONDS"),
                wait_max=env_float(env, 5.0, "DELIVERY_BACKOFF_MAX_SECONDS"),
                timeout=env_float(env, 60.0, "DELIVERY_TIMEOUT_SECONDS"),
            ),
        )


def _smtp(env: Mapping[str, str]) -> SmtpConfig | None:
    host = optional(env, "SMTP_HOST", "SIMPLEJAVAMAIL_SMTP_HOST")
    if host is None:
        return None
    security = text(env, "starttls", "SMTP_SECURITY").lower()
    if security not in SECURITY_MODES:
        raise SettingsError(f"SMTP_SECURITY must be one of {SECURITY_MODES}")
    return SmtpConfig(
        host=host,
        port=env_int(env, DEFAULT_SMTP_PORTS[security], "SMTP_PORT", "SIMPLEJAVAMAIL_SMTP_PORT"),
        security=security,
        username=optional(env, "SMTP_USERNAME", "SIMPLEJAVAMAIL_SMTP_USERNAME"),
        password=optional(env, "SMTP_PASSWORD", "SIMPLEJAVAMAIL_SMTP_PASSWORD"),
        timeout=env_float(env, 15.0, "SMTP_TIMEOUT_SECONDS"),
        validate_certs=env_bool(env, True, "SMTP_VALIDATE_CERTS"),
        ca_file=optional(env, "SMTP_CA_FILE"),
    )


def _required(env: Mapping[str, str], name: str, why: str) -> str:
    value = optional(env, name)
    if value is None:
        raise SettingsError(f"{name} is required {why}")
    return value


def _twilio(env: Mapping[str, str]) -> TwilioConfig:
    why = "when SMS_PROVIDERS lists twilio"
    return TwilioConfig(
        account_sid=_required(env, "TWILIO_ACCOUNT_SID", why),
        auth_token=_required(env, "TWILIO_AUTH_TOKEN", why),
        sender=_required(env, "TWILIO_FROM", why),
        base_url=text(env, "https://api.twilio.com", "TWILIO_BASE_URL"),
    )


def _webhook(env: Mapping[str, str]) -> WebhookConfig:
    return WebhookConfig(
        url=_required(env, "SMS_WEBHOOK_URL", "when SMS_PROVIDERS lists webhook"),
        token=optional(env, "SMS_WEBHOOK_TOKEN"),
    )
