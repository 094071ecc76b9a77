"""The console's session cookie and form token, and its parameter lines."""

from __future__ import annotations

import pytest

from domain.errors import InvalidTemplate
from domain.template import TemplateParameter
from entrypoints.http.console import (
    SESSION_SECONDS,
    form_token,
    parameters_text,
    parse_parameters,
    session_cookie,
    session_user,
)

SECRET = b"k" * 32


def test_a_session_is_the_signed_in_name_until_it_expires() -> None:
    cookie = session_cookie(SECRET, "ana", 1000.0)
    assert session_user(SECRET, cookie, 1000.0) == "ana"
    assert session_user(SECRET, cookie, 1000.0 + SESSION_SECONDS - 1) == "ana"
    assert session_user(SECRET, cookie, 1000.0 + SESSION_SECONDS + 1) is None


@pytest.mark.parametrize(
    "forged",
    [
        lambda c: c.replace("ana", "bob", 1),  # another name, same signature
        lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"),  # a changed signature
        lambda c: c.rsplit(".", 2)[0] + ".9999999999." + c.rsplit(".", 1)[1],  # a longer life
        lambda c: "",
        lambda c: "ana",
        lambda c: "a.b",
    ],
)
def test_a_forged_session_is_nobody(forged: object) -> None:
    cookie = session_cookie(SECRET, "ana", 1000.0)
    assert session_user(SECRET, forged(cookie), 1000.0) is None  # type: ignore[operator]
    assert session_user(b"other" * 8, cookie, 1000.0) is None


def test_the_form_token_belongs_to_its_session() -> None:
    one, two = session_cookie(SECRET, "ana", 1.0), session_cookie(SECRET, "ana", 2.0)
    assert form_token(SECRET, one) == form_token(SECRET, one)
    assert form_token(SECRET, one) != form_token(SECRET, two)


def test_parameter_lines_round_trip() -> None:
    lines = "bank*: the bank's name\n\n  amount* (number) : how much \nplain\nday (date)"
    parsed = parse_parameters(lines)
    assert parsed == (
        TemplateParameter("bank", True, "the bank's name"),
        TemplateParameter("amount", True, "how much", "number"),
        TemplateParameter("plain", False, ""),
        TemplateParameter("day", False, "", "date"),
    )
    assert parse_parameters(parameters_text(parsed)) == parsed
    with pytest.raises(InvalidTemplate, match="names no parameter"):
        parse_parameters("*: nothing")
    with pytest.raises(InvalidTemplate, match="text, number, date"):
        parse_parameters("amount (money)")
