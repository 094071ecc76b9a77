"""Abuse settings: caps on sends, SMS destinations, template parameters, validate timing (each
variable is in the README table and in SECURITY.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import attrs

from adapters.recipients import DENIED_BY_DEFAULT, KINDS
from domain.limits import DAY, Cap, SendCaps
from domain.parameters import ParameterRules
from entrypoints.settings_env import SettingsError, env_bool, env_int, text


def _cap(env: Mapping[str, str], name: str, default: Cap) -> Cap:
    sends = env_int(env, default.max_sends, f"LIMIT_{name}_MAX_SENDS")
    seconds = env_int(env, int(default.window.total_seconds()), f"LIMIT_{name}_WINDOW_SECONDS")
    if sends < 0 or seconds < 1:
        raise SettingsError(
            f"LIMIT_{name}_MAX_SENDS must be 0 (off) or more, its window 1 s or more"
        )
    return Cap(sends, timedelta(seconds=seconds))


def _names(raw: str) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in raw.split(",") if n.strip())


@attrs.frozen(kw_only=True)
class AbuseSettings:
    caps: SendCaps = SendCaps()
    sms_allowed_countries: frozenset[str] = frozenset()
    sms_denied_types: frozenset[str] = frozenset(DENIED_BY_DEFAULT)
    parameter_rules: ParameterRules = ParameterRules()
    validate_failure_floor: timedelta = timedelta(milliseconds=50)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AbuseSettings:
        defaults = SendCaps()
        budget = env_int(env, defaults.sms_per_day.max_sends, "SMS_DAILY_BUDGET")
        if budget < 0:
            raise SettingsError("SMS_DAILY_BUDGET must be 0 (off) or more")
        denied = _names(text(env, ",".join(DENIED_BY_DEFAULT), "SMS_DENIED_NUMBER_TYPES"))
        unknown = sorted(denied - set(KINDS))
        if unknown:
            raise SettingsError(
                f"SMS_DENIED_NUMBER_TYPES names unknown kinds {unknown}; use {', '.join(KINDS)}"
            )
        countries = frozenset(c.upper() for c in _names(text(env, "", "SMS_ALLOWED_COUNTRIES")))
        if any(len(c) != 2 or not c.isalpha() for c in countries):
            raise SettingsError("SMS_ALLOWED_COUNTRIES lists ISO 3166 codes such as RO,DE,FR")
        floor = env_int(env, 50, "OTP_VALIDATE_FAILURE_FLOOR_MS")
        try:
            rules = ParameterRules(
                max_parameters=env_int(env, 32, "TEMPLATE_PARAM_MAX_COUNT"),
                max_length=env_int(env, 200, "TEMPLATE_PARAM_MAX_LENGTH"),
                allow_links=env_bool(env, False, "TEMPLATE_PARAM_ALLOW_LINKS"),
            )
        except ValueError:
            raise SettingsError(
                "TEMPLATE_PARAM_MAX_COUNT and TEMPLATE_PARAM_MAX_LENGTH must be 1 or more"
            ) from None
        if not 0 <= floor <= 5000:
            raise SettingsError("OTP_VALIDATE_FAILURE_FLOOR_MS must be 0 to 5000")
        return cls(
            caps=SendCaps(
                per_recipient=_cap(env, "RECIPIENT", defaults.per_recipient),
                per_caller=_cap(env, "CALLER", defaults.per_caller),
                per_sms_country=_cap(env, "SMS_COUNTRY", defaults.per_sms_country),
                sms_per_day=Cap(budget, DAY),
            ),
            sms_allowed_countries=countries,
            sms_denied_types=denied,
            parameter_rules=rules,
            validate_failure_floor=timedelta(milliseconds=floor),
        )
