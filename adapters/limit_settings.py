"""The abuse caps' branch of the settings: sends per recipient, caller, SMS range and country,
the SMS budget, and the rules for template parameters."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from adapters.settings import AtLeastOne, Branch, Count
from domain.limits import Cap, SendCaps
from domain.parameters import ParameterRules

_CAPS, _RULES = SendCaps(), ParameterRules()


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())


class LimitSettings(Branch):
    title: ClassVar[str] = "Abuse caps"

    limit_recipient_max_sends: Count = _CAPS.per_recipient.max_sends
    """codes sent to one address or number, whatever the clientId (0: off)"""
    limit_recipient_window_seconds: AtLeastOne = _seconds(_CAPS.per_recipient.window)
    """its window"""
    limit_caller_max_sends: Count = _CAPS.per_caller.max_sends
    """codes asked for by one caller (an HTTP key's name, or `kafka`); off by default: the engine
    is one caller that speaks for millions of customers (0: off)"""
    limit_caller_window_seconds: AtLeastOne = _seconds(_CAPS.per_caller.window)
    """its window"""
    limit_sms_prefix_max_sends: Count = _CAPS.per_sms_prefix.max_sends
    """SMS to one range of 100 numbers (the number less its last two digits): bounds a toll-fraud
    run through consecutive premium numbers (0: off)"""
    limit_sms_prefix_window_seconds: AtLeastOne = _seconds(_CAPS.per_sms_prefix.window)
    """its window"""
    limit_sms_country_max_sends: Count = _CAPS.per_sms_country.max_sends
    """SMS to one country calling code (0: off; `SMS_ALLOWED_COUNTRIES` keeps SMS to the
    countries a bank serves)"""
    limit_sms_country_window_seconds: AtLeastOne = _seconds(_CAPS.per_sms_country.window)
    """its window"""
    sms_budget: Count = _CAPS.sms_budget.max_sends
    """SMS parts in one window, all recipients (0: off): a long SMS costs its parts; above 200
    one-part SMS a second by default"""
    sms_budget_window_seconds: AtLeastOne = _seconds(_CAPS.sms_budget.window)
    """its window"""
    template_param_max_count: AtLeastOne = _RULES.max_parameters
    """template parameters per request"""
    template_param_max_length: AtLeastOne = _RULES.max_length
    """characters per text value of a template parameter"""
    template_param_allow_links: bool = _RULES.allow_links
    """allow web addresses and phone numbers in template parameters"""

    @property
    def caps(self) -> SendCaps:
        def cap(sends: int, seconds: int) -> Cap:
            return Cap(sends, timedelta(seconds=seconds))

        return SendCaps(
            per_recipient=cap(self.limit_recipient_max_sends, self.limit_recipient_window_seconds),
            per_caller=cap(self.limit_caller_max_sends, self.limit_caller_window_seconds),
            per_sms_prefix=cap(
                self.limit_sms_prefix_max_sends, self.limit_sms_prefix_window_seconds
            ),
            per_sms_country=cap(
                self.limit_sms_country_max_sends, self.limit_sms_country_window_seconds
            ),
            sms_budget=cap(self.sms_budget, self.sms_budget_window_seconds),
        )

    @property
    def parameter_rules(self) -> ParameterRules:
        return ParameterRules(
            max_parameters=self.template_param_max_count,
            max_length=self.template_param_max_length,
            allow_links=self.template_param_allow_links,
        )
