"""Steps for features/resend.feature: a failed delivery burns nothing; a repeat sends nothing."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when

from domain.channel import Channel
from entrypoints import dispatch
from tests.bdd.conftest import CLIENT, RECIPIENTS, TEMPLATES, _ask
from tests.harness import Harness

scenarios("resend.feature")


@given("the e-mail server is down")
def mail_down(harness: Harness) -> None:
    harness.mail.fail_with = "SMTP server unreachable"


@when("the e-mail server is back")
def mail_back(harness: Harness) -> None:
    harness.mail.fail_with = None


@given(parsers.parse("{amount:d} minutes pass"))
def minutes_pass(harness: Harness, amount: int) -> None:
    harness.advance(amount * 60)


@when(
    parsers.re(
        r'the flow asks again for a code for client "(?P<client>[^"]+)" by (?P<channel>\w+)$'
    ),
    target_fixture="reply",
)
def asks_again(harness: Harness, client: str, channel: str) -> dict[str, Any]:
    return _ask(harness, client, channel)


@when(
    parsers.re(
        r"the flow asks again for a code for "
        + CLIENT
        + r" by (?P<channel>\w+) (?P<times>\d+) times"
    ),
    target_fixture="reply",
)
def asks_again_and_again(harness: Harness, client: str, channel: str, times: str) -> Any:
    replies = [_ask(harness, client, channel) for _ in range(int(times))]
    assert all(r["errorCode"] == "DELIVERY_FAILED" for r in replies), "no cooldown after a failure"
    return replies[-1]


@then("the code the person already had still works")
def held_code_works(harness: Harness, sent: dict[str, Any]) -> None:
    reply = harness.validate(sent["codes"][0], clientId=sent["client"], channel=sent["channel"])
    assert reply["otpValid"] is True


@then(parsers.re(r"the person has received (?P<count>\d+) e-mails? in all"))
def received_in_all(harness: Harness, count: str) -> None:
    assert len(harness.mail.sent) == int(count)


@then("only the newest code works")
def only_newest(harness: Harness, sent: dict[str, Any]) -> None:
    first, newest = sent["codes"][0], harness.last_code(Channel.MAIL)
    assert first != newest
    owner = {"clientId": sent["client"], "channel": sent["channel"]}
    assert harness.validate(first, **owner)["otpValid"] is False
    assert harness.validate(newest, **owner)["otpValid"] is True


@when(
    parsers.re(r"the engine sends the same request for " + CLIENT + r" by (?P<channel>\w+) twice"),
    target_fixture="replies",
)
def same_request_twice(harness: Harness, client: str, channel: str) -> list[dict[str, Any]]:
    body = {"templateName": TEMPLATES[channel], "channel": channel,
            "recipient": RECIPIENTS[channel], "clientId": client}  # fmt: skip
    use_case = harness.generate_use_case
    return [
        harness.run(dispatch.generate(use_case, body, None, "engine-request-1")).reply
        for _ in range(2)
    ]


@then("both replies say the code was sent")
def both_sent(replies: list[dict[str, Any]]) -> None:
    assert [r["otpSent"] for r in replies] == [True, True]
