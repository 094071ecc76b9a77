"""Steps for features/protection.feature: transaction binding, guessing caps, abuse caps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
from pytest_bdd import given, parsers, scenarios, then, when

from domain.channel import Channel
from domain.limits import Cap
from domain.template import NotificationTemplate
from tests.bdd.conftest import CLIENT, _ask
from tests.harness import Harness, wrong_code

scenarios("protection.feature")

PAY_SMS = NotificationTemplate(
    name="pay-sms",
    channel=Channel.SMS,
    language="en",
    text="Pay {{ context.amount }} to {{ context.payee }}: code {{ otpValue }}",
)
PAYMENT = r'a payment of "(?P<amount>[^"]+)" to "(?P<payee>[^"]+)"'


@given(
    parsers.re(r"a code was sent to " + CLIENT + r" by (?P<channel>\w+) to sign " + PAYMENT),
    target_fixture="sent",
)
def a_code_to_sign(
    harness: Harness, client: str, channel: str, amount: str, payee: str
) -> dict[str, Any]:
    harness.templates.put(PAY_SMS)
    context = {"amount": amount, "payee": payee}
    reply = _ask(harness, client, channel, templateName="pay-sms", context=context)
    assert reply["otpSent"] is True, reply
    return {"client": client, "channel": channel, "codes": [harness.last_code(Channel(channel))]}


@when(
    parsers.re(r"the person types the code they received for " + PAYMENT),
    target_fixture="reply",
)
def types_for_payment(
    harness: Harness, sent: dict[str, Any], amount: str, payee: str
) -> dict[str, Any]:
    context = {"amount": amount, "payee": payee}
    return harness.validate(
        sent["codes"][-1], clientId=sent["client"], channel=sent["channel"], context=context
    )


@given(
    parsers.re(
        r"someone typed (?P<count>\d+) wrong codes for " + CLIENT + r" by (?P<channel>\w+) today, "
        r"asking for new codes in between"
    )
)
def guessed_today(harness: Harness, count: str, client: str, channel: str) -> None:
    reply: dict[str, Any] = {}
    for _ in range(int(count)):
        if not reply or reply["errorCode"] == "OTP_ATTEMPTS_EXCEEDED":
            harness.advance(31)
            assert _ask(harness, client, channel)["otpSent"] is True
        code = harness.last_code(Channel(channel))
        reply = harness.validate(wrong_code(code), clientId=client, channel=channel)
    harness.advance(31)


@given(parsers.parse("at most {count:d} codes an hour may go to one phone number"))
def recipient_cap(harness: Harness, count: int) -> None:
    harness.caps = attrs.evolve(harness.caps, per_recipient=Cap(count, timedelta(hours=1)))
    harness.use_repository(harness.repository)


@when(
    parsers.parse('the flow asks for codes for {count:d} different customers, all to "{number}"'),
    target_fixture="replies",
)
def codes_for_many(harness: Harness, count: int, number: str) -> list[dict[str, Any]]:
    return [_ask(harness, f"customer-{i}", "SMS", recipient=number) for i in range(count)]


@then(parsers.parse('{sent:d} codes were sent and {refused:d} were refused because of "{code}"'))
def sent_and_refused(
    harness: Harness, replies: list[dict[str, Any]], sent: int, refused: int, code: str
) -> None:
    assert [r["otpSent"] for r in replies] == [True] * sent + [False] * refused
    assert {r["errorCode"] for r in replies[sent:]} == {code}
    assert len(harness.sms.sent) == sent
