"""Abuse settings: caps on sends, SMS destinations, template parameters, validate timing (each
variable is in the README table and in SECURITY.md)."""

from __future__ import annotations

from datetime import timedelta

import attrs

from adapters.recipients import KINDS
from domain.limits import Cap, SendCaps
from domain.parameters import ParameterRules
from entrypoints.environment import Environment, SettingsError


def _cap(sends: int, seconds: int, count: str, window: str | None = None) -> Cap:
    """``count`` (and ``window``, else ``count`` ending in _WINDOW_SECONDS) name the variables."""
    window = window or count.replace("_MAX_SENDS", "_WINDOW_SECONDS")
    if sends < 0 or seconds < 1:
        raise SettingsError(f"{count} must be 0 (off) or more, {window} 1 s or more")
    return Cap(sends, timedelta(seconds=seconds))


def _names(raw: str) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in raw.split(",") if n.strip())


@attrs.frozen(kw_only=True)
class AbuseSettings:
    caps: SendCaps
    sms_allowed_countries: frozenset[str]
    sms_denied_types: frozenset[str]
    parameter_rules: ParameterRules
    validate_failure_floor: timedelta

    @classmethod
    def from_environment(cls, e: Environment) -> AbuseSettings:
        denied = _names(e.sms_denied_number_types)
        unknown = sorted(denied - set(KINDS))
        if unknown:
            raise SettingsError(
                f"SMS_DENIED_NUMBER_TYPES names unknown kinds {unknown}; use {', '.join(KINDS)}"
            )
        countries = frozenset(c.upper() for c in _names(e.sms_allowed_countries))
        if any(len(c) != 2 or not c.isalpha() for c in countries):
            raise SettingsError("SMS_ALLOWED_COUNTRIES lists ISO 3166 codes such as RO,DE,FR")
        floor = e.otp_validate_failure_floor_ms
        try:
            rules = ParameterRules(
                max_parameters=e.template_param_max_count,
                max_length=e.template_param_max_length,
                allow_links=e.template_param_allow_links,
            )
        except ValueError:
            raise SettingsError(
                "TEMPLATE_PARAM_MAX_COUNT and TEMPLATE_PARAM_MAX_LENGTH must be 1 or more"
            ) from None
        if not 0 <= floor <= 5000:
            raise SettingsError("OTP_VALIDATE_FAILURE_FLOOR_MS must be 0 to 5000")
        return cls(
            caps=SendCaps(
                per_recipient=_cap(
                    e.limit_recipient_max_sends,
                    e.limit_recipient_window_seconds,
                    "LIMIT_RECIPIENT_MAX_SENDS",
                ),
                per_caller=_cap(
                    e.limit_caller_max_sends,
                    e.limit_caller_window_seconds,
                    "LIMIT_CALLER_MAX_SENDS",
                ),
                per_sms_prefix=_cap(
                    e.limit_sms_prefix_max_sends,
                    e.limit_sms_prefix_window_seconds,
                    "LIMIT_SMS_PREFIX_MAX_SENDS",
                ),
                per_sms_country=_cap(
                    e.limit_sms_country_max_sends,
                    e.limit_sms_country_window_seconds,
                    "LIMIT_SMS_COUNTRY_MAX_SENDS",
                ),
                sms_budget=_cap(
                    e.sms_budget,
                    e.sms_budget_window_seconds,
                    "SMS_BUDGET",
                    "SMS_BUDGET_WINDOW_SECONDS",
                ),
            ),
            sms_allowed_countries=countries,
            sms_denied_types=denied,
            parameter_rules=rules,
            validate_failure_floor=timedelta(milliseconds=floor),
        )
