"""Steps shared by the features: the flow asks, the person types, the reply tells."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from domain.channel import Channel
from tests.harness import Harness, wrong_code

CLIENT = r'client "(?P<client>[^"]+)"'
ASK = (
    r"the flow asks for a code for " + CLIENT + r' by (?P<channel>\w+) to "(?P<recipient>[^"]*)"'
    r' with template "(?P<template>[^"]+)"(?: in "(?P<language>\w+)")?'
)
RECIPIENTS = {"SMS": "+40722123456", "MAIL": "ana@example.com"}
TEMPLATES = {"SMS": "otp-sms", "MAIL": "otp-mail"}


def _ask(harness: Harness, client: str, channel: str, **extra: Any) -> dict[str, Any]:
    return harness.generate(
        clientId=client,
        channel=channel,
        recipient=extra.pop("recipient", RECIPIENTS.get(channel, "")),
        templateName=extra.pop("templateName", TEMPLATES.get(channel, "otp-sms")),
        **extra,
    )


@given(parsers.re(r"a code was sent to " + CLIENT + r" by (?P<channel>\w+)"), target_fixture="sent")
def a_code_was_sent(harness: Harness, client: str, channel: str) -> dict[str, Any]:
    reply = _ask(harness, client, channel)
    assert reply["otpSent"] is True, reply
    return {"client": client, "channel": channel, "codes": [harness.last_code(Channel(channel))]}


@given(
    parsers.re(
        r"(?P<count>\d+) codes were sent to " + CLIENT + r" by (?P<channel>\w+) a minute apart"
    )
)
def codes_were_sent(harness: Harness, count: str, client: str, channel: str) -> None:
    for _ in range(int(count)):
        assert _ask(harness, client, channel)["otpSent"] is True
        harness.advance(60)


@given(parsers.parse('the template "{name}" needs the parameter "{parameter}"'))
def template_needs(harness: Harness, name: str, parameter: str) -> None:
    template = harness.run(harness.templates.find(name, "en"))
    assert template is not None
    assert any(p.name == parameter and p.mandatory for p in template.parameters)


@when(parsers.re(ASK), target_fixture="reply")
def the_flow_asks(
    harness: Harness, client: str, channel: str, recipient: str, template: str, language: str | None
) -> dict[str, Any]:
    extra = {"language": language} if language else {}
    return _ask(harness, client, channel, recipient=recipient, templateName=template, **extra)


@when(
    parsers.re(r"a new code is sent to " + CLIENT + r" by (?P<channel>\w+)"), target_fixture="sent"
)
def a_new_code_is_sent(
    harness: Harness, sent: dict[str, Any], client: str, channel: str
) -> dict[str, Any]:
    assert _ask(harness, client, channel)["otpSent"] is True
    return {**sent, "codes": [*sent["codes"], harness.last_code(Channel(channel))]}


@when(parsers.parse("{amount:d} {unit} pass"))
def time_passes(harness: Harness, amount: int, unit: str) -> None:
    seconds = {"hour": 3600, "minute": 60, "second": 1}
    harness.advance(amount * next(v for k, v in seconds.items() if unit.startswith(k)))


def _type(harness: Harness, sent: dict[str, Any], code: str) -> dict[str, Any]:
    return harness.validate(code, clientId=sent["client"], channel=sent["channel"])


@when("the person types the code they received", target_fixture="reply")
def types_the_received_code(harness: Harness, sent: dict[str, Any]) -> dict[str, Any]:
    return _type(harness, sent, sent["codes"][-1])


@when("the person types the first code", target_fixture="reply")
def types_the_first_code(harness: Harness, sent: dict[str, Any]) -> dict[str, Any]:
    return _type(harness, sent, sent["codes"][0])


@when("the person types a wrong code", target_fixture="reply")
def types_a_wrong_code(harness: Harness, sent: dict[str, Any]) -> dict[str, Any]:
    return _type(harness, sent, wrong_code(sent["codes"][-1]))


@when(parsers.parse("the person types a wrong code {times:d} times"), target_fixture="reply")
def types_wrong_codes(harness: Harness, sent: dict[str, Any], times: int) -> dict[str, Any]:
    replies = [_type(harness, sent, wrong_code(sent["codes"][-1])) for _ in range(times)]
    return replies[-1]


@then("the reply says the code was sent")
def reply_sent(reply: dict[str, Any]) -> None:
    assert (reply["otpSent"], reply["error"], reply["errorCode"]) == (True, None, None)


@then(parsers.parse('the reply says the code was not sent because of "{code}"'))
def reply_not_sent(reply: dict[str, Any], code: str) -> None:
    assert (reply["otpSent"], reply["errorCode"]) == (False, code)
    assert reply["error"]


@then("the reply says the code is valid")
def reply_valid(reply: dict[str, Any]) -> None:
    assert (reply["otpValid"], reply["errorCode"]) == (True, None)


@then(parsers.parse('the reply says the code is not valid because of "{code}"'))
def reply_not_valid(reply: dict[str, Any], code: str) -> None:
    assert (reply["otpValid"], reply["errorCode"]) == (False, code)


@then("the error does not tell how many tries are left")
def error_hides_the_tries_left(reply: dict[str, Any]) -> None:
    assert reply["error"]
    assert not any(ch.isdigit() for ch in reply["error"])


@then(parsers.parse('the error mentions "{text}"'))
def error_mentions(reply: dict[str, Any], text: str) -> None:
    assert text in reply["error"]


@then(parsers.parse('"{address}" receives an e-mail with the code'))
def receives_mail(harness: Harness, address: str) -> None:
    (mail,) = harness.mail.sent
    assert mail.recipient.address == address
    code = harness.last_code(Channel.MAIL)
    assert mail.message.subject
    assert mail.message.html is not None and code in mail.message.html


@then(parsers.parse('"{number}" receives an SMS with the code that starts with "{start}"'))
def receives_sms(harness: Harness, number: str, start: str) -> None:
    (sms,) = harness.sms.sent
    assert sms.recipient.address == number
    assert sms.message.text.startswith(start)
    assert harness.last_code(Channel.SMS) in sms.message.text


@then("nobody receives anything")
def nobody_receives(harness: Harness) -> None:
    assert harness.mail.sent == [] and harness.sms.sent == []


@then("the newest code is still accepted")
def newest_accepted(harness: Harness, sent: dict[str, Any]) -> None:
    assert _type(harness, sent, sent["codes"][-1])["otpValid"] is True
