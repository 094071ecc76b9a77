"""Sandboxed rendering: parameters are data, HTML is escaped, undefined names are errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.templates.jinja_renderer import JinjaTemplateRenderer
from domain.channel import Channel
from domain.errors import InternalError, InvalidRequest, OtpError, TemplateParameterMissing
from domain.parameters import ParameterRules
from domain.template import NotificationTemplate
from tests.harness import MAIL_TEMPLATE


def test_a_parameter_holding_template_code_is_printed_not_run() -> None:
    message = JinjaTemplateRenderer().render(
        MAIL_TEMPLATE, {"otpValue": "123456", "firstName": "{{ 7 * 7 }}"}
    )
    assert "{{ 7 * 7 }}" in message.text
    assert "49" not in message.text


def test_html_is_escaped_but_text_is_not() -> None:
    message = JinjaTemplateRenderer().render(
        MAIL_TEMPLATE, {"otpValue": "123456", "firstName": "<script>x</script>"}
    )
    assert message.html is not None
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert "<script>x</script>" in message.text


def test_an_undeclared_name_used_by_the_template_is_reported_by_name() -> None:
    template = NotificationTemplate(
        name="t", channel=Channel.SMS, language="en", text="{{ otpValue }} {{ branch }}"
    )
    with pytest.raises(TemplateParameterMissing) as missing:
        JinjaTemplateRenderer().render(template, {"otpValue": "1"})
    assert missing.value.keys == ["branch"]


def test_the_sandbox_refuses_reaching_into_python_internals() -> None:
    template = NotificationTemplate(
        name="evil", channel=Channel.SMS, language="en", text="{{ ''.__class__.__mro__ }}"
    )
    with pytest.raises(InternalError, match="evil"):
        JinjaTemplateRenderer().render(template, {})


def test_a_subject_is_kept_on_one_line() -> None:
    template = NotificationTemplate(
        name="t", channel=Channel.MAIL, language="en", text="x", subject="Code\r\nBcc: {{ who }}"
    )
    message = JinjaTemplateRenderer().render(template, {"who": "a@b.c"})
    assert message.subject == "Code Bcc: a@b.c"


parameter_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    first_name=parameter_values,
    extra=st.dictionaries(st.text(max_size=12), parameter_values, max_size=4),
)
def test_any_parameters_the_rules_let_through_render_or_fail_cleanly(
    first_name: object, extra: dict[str, object]
) -> None:
    parameters = {**extra, "firstName": first_name}
    try:
        ParameterRules().check(parameters)
    except InvalidRequest:
        return
    try:
        message = JinjaTemplateRenderer().render(MAIL_TEMPLATE, {**parameters, "otpValue": "123"})
    except OtpError:
        return
    assert "123" in message.text
    if isinstance(first_name, str) and first_name:
        assert first_name in message.text
        assert message.html is not None and "<script" not in message.html.lower()
