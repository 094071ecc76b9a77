"""The settings are declared once, a branch per concern: docs/configuration.md is generated from
the declarations, aliases work, and bad values are refused by their names, all at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.settings import names
from entrypoints.settings import Settings, SettingsError, documentation, variables

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
VARIABLE = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"')


def _declared() -> set[str]:
    return {name for _, field in variables() for name in names(field)}


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
        ROOT / name
        for name in (
            "entrypoints/settings.py", "adapters/settings.py", "adapters/kafka/settings.py",
            "adapters/channels/settings.py", "adapters/store_settings.py",
            "adapters/channels/smtp.py", "adapters/channels/sms_http.py",
            "adapters/channels/mail.py", "adapters/channels/sms.py",
        )
    ]  # fmt: skip
    named = {match for path in sources for match in VARIABLE.findall(path.read_text())}
    # Other quoted upper-case words there are values, not variables.
    values = {"SASL_PLAINTEXT", "SASL_SSL"}
    assert named - values <= _declared()


def test_aliases_are_read_and_the_first_name_set_wins() -> None:
    env = Settings.from_env({"FLOWX_OTP_EXPIRE_TIME_IN_SECONDS": "120", "OTP_LENGTH": " 8 "})
    assert (env.codes.ttl_seconds, env.codes.length) == (120, 8)
    both = Settings.from_env({"OTP_TTL_SECONDS": "60", "FLOWX_OTP_EXPIRE_TIME_IN_SECONDS": "120"})
    assert both.codes.ttl_seconds == 60
    assert Settings.from_env({"OTP_TTL_SECONDS": "  "}).codes.ttl_seconds == 600  # empty: unset


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


def test_every_bad_value_is_reported_at_once_by_name() -> None:
    env = {"OTP_TTL_SECONDS": "-5", "LOG_LEVEL": "verbose", "HTTP_PORT": "99999",
           "KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_GROUP_PROTOCOL": "fast"}  # fmt: skip
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    assert refused.value.problems == [
        "OTP_TTL_SECONDS must be more than 0",
        "HTTP_PORT must be at most 65535",
        "KAFKA_GROUP_PROTOCOL must be one of classic or consumer",
        "LOG_LEVEL must be one of DEBUG, INFO, WARNING or ERROR",
    ]
