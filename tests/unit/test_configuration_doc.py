"""The settings are declared once (entrypoints/environment.py): docs/configuration.md is
generated from the declarations, aliases work, and a bad value is refused by its name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from entrypoints.environment import Environment, documentation
from entrypoints.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
VARIABLE = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"')


def _declared() -> set[str]:
    names: set[str] = set()
    for field in Environment.model_fields.values():
        extra = field.json_schema_extra
        assert isinstance(extra, dict)
        names.update(extra["names"])  # type: ignore[arg-type]
    return names


def test_the_checked_in_page_is_generated_from_the_declarations() -> None:
    # `otp config docs > docs/configuration.md` after changing a declaration.
    assert DOC.read_text() == documentation()


def test_every_declared_variable_and_alias_is_on_the_page() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", DOC.read_text()))
    declared = _declared()
    assert len(declared) > 100
    assert declared <= documented


def test_the_settings_code_names_no_variable_it_has_not_declared() -> None:
    sources = [
        ROOT / "entrypoints" / name
        for name in ("settings.py", "abuse_settings.py", "delivery_settings.py", "environment.py")
    ]
    named = {match for path in sources for match in VARIABLE.findall(path.read_text())}
    # Other quoted upper-case words there are values, not variables.
    values = {"SASL_PLAINTEXT", "SASL_SSL"}
    assert named - values <= _declared()


def test_aliases_are_read_and_the_first_name_set_wins() -> None:
    env = Environment.read({"FLOWX_OTP_EXPIRE_TIME_IN_SECONDS": "120", "OTP_LENGTH": " 8 "})
    assert (env.otp_ttl_seconds, env.otp_length) == (120, 8)
    both = Environment.read({"OTP_TTL_SECONDS": "60", "FLOWX_OTP_EXPIRE_TIME_IN_SECONDS": "120"})
    assert both.otp_ttl_seconds == 60
    assert Environment.read({"OTP_TTL_SECONDS": "  "}).otp_ttl_seconds == 600  # empty is unset


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HTTP_PORT": "eighty"}, "HTTP_PORT must be a whole number"),
        ({"FLOWX_OTP_LENGTH": "6.5"}, "FLOWX_OTP_LENGTH must be a whole number"),
        ({"SMTP_VALIDATE_CERTS": "perhaps"}, "SMTP_VALIDATE_CERTS must be true or false"),
        ({"DELIVERY_TIMEOUT_SECONDS": "soon"}, "DELIVERY_TIMEOUT_SECONDS must be a number"),
    ],
)
def test_a_bad_value_is_refused_by_its_name_without_the_value(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    assert str(refused.value) == message
    assert next(iter(env.values())) not in str(refused.value)
