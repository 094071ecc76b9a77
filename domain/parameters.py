"""Limits on what a caller may put into a message the bank sends (phishing through its sender)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from domain.errors import InvalidRequest
from domain.text import check_text, looks_like_link_or_phone

MAX_DEPTH = 3


@attrs.frozen(kw_only=True)
class ParameterRules:
    max_parameters: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    # Characters per text value; a name or a contract number fits, a paragraph does not.
    max_length: int = attrs.field(default=200, validator=attrs.validators.ge(1))
    # Whether text values may hold web addresses or phone numbers a person would follow.
    allow_links: bool = False

    def check(self, parameters: Mapping[str, object]) -> None:
        """Raises ``InvalidRequest`` naming the first parameter that breaks a rule."""
        if len(parameters) > self.max_parameters:
            raise InvalidRequest(
                f"The request holds more than {self.max_parameters} template parameters."
            )
        for name, value in parameters.items():
            self._value(str(name), value, 0)

    def _value(self, where: str, value: object, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise InvalidRequest(f"Template parameter {where!r} is nested too deeply.")
        if isinstance(value, str):
            self._text(where, value)
        elif isinstance(value, Mapping):
            if len(value) > self.max_parameters:
                raise InvalidRequest(f"Template parameter {where!r} holds too many entries.")
            for key, item in value.items():
                self._text(f"{where}.{key}", str(key))
                self._value(f"{where}.{key}", item, depth + 1)
        elif isinstance(value, list):
            if len(value) > self.max_parameters:
                raise InvalidRequest(f"Template parameter {where!r} holds too many entries.")
            for index, item in enumerate(value):
                self._value(f"{where}[{index}]", item, depth + 1)
        elif value is not None and not isinstance(value, bool | int | float):
            raise InvalidRequest(f"Template parameter {where!r} has an unsupported type.")

    def _text(self, where: str, value: str) -> None:
        if len(value) > self.max_length:
            raise InvalidRequest(
                f"Template parameter {where!r} is longer than {self.max_length} characters."
            )
        check_text(value, f"template parameter {where}")
        if not self.allow_links and looks_like_link_or_phone(value):
            raise InvalidRequest(
                f"Template parameter {where!r} holds a web address or a phone number, which "
                "the service does not put into messages."
            )
