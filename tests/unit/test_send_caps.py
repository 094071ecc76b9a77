"""Abuse caps that follow the recipient, the caller and the country, not the clientId."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest

from adapters.channels.sms_segments import SmsLengthCheck
from adapters.recipients import PhoneNumbers
from domain.channel import Channel
from domain.errors import InvalidRecipient, InvalidRequest, RateLimited
from domain.limits import Cap, SendCaps
from domain.parameters import ParameterRules
from entrypoints import dispatch
from tests.harness import MAIL_TEMPLATE, NO_CAPS, Harness

HOUR = timedelta(hours=1)


def capped(**caps: Cap) -> Harness:
    return Harness(caps=attrs.evolve(NO_CAPS, **caps))


@pytest.fixture
def pumped() -> Iterator[Harness]:
    h = capped(per_recipient=Cap(3, HOUR))
    yield h
    h.close()


def test_sms_pumping_with_a_new_client_id_per_request_stops_at_the_recipient_cap(
    pumped: Harness,
) -> None:
    replies = [pumped.generate(clientId=f"victim-{i}") for i in range(10)]
    assert [r["otpSent"] for r in replies] == [True] * 3 + [False] * 7
    assert {r["errorCode"] for r in replies[3:]} == {"RATE_LIMITED"}
    assert "this recipient" in replies[3]["error"]
    assert len(pumped.sms.sent) == 3
    # Another number is not held back; the window slides.
    assert pumped.generate(clientId="other", recipient="+40722000111")["otpSent"] is True
    pumped.advance(3600 + 60)  # the window and one bucket
    assert pumped.generate(clientId="victim-10")["otpSent"] is True


def test_mail_bombing_stops_at_the_recipient_cap(pumped: Harness) -> None:
    mail = {"templateName": "otp-mail", "channel": "MAIL", "recipient": "ana@example.com"}
    replies = [pumped.generate(**mail, clientId=f"c{i}") for i in range(5)]
    assert [r["otpSent"] for r in replies] == [True] * 3 + [False] * 2
    # Case and form do not make another address.
    assert (
        pumped.generate(**{**mail, "recipient": "ana@EXAMPLE.com"}, clientId="x")["errorCode"]
        == "RATE_LIMITED"
    )


def test_a_refused_send_does_not_use_up_the_other_caps_or_the_clients_cooldown() -> None:
    h = capped(per_recipient=Cap(1, HOUR), sms_budget=Cap(2, timedelta(days=1)))
    assert h.generate(clientId="a")["otpSent"] is True
    assert h.generate(clientId="b")["errorCode"] == "RATE_LIMITED"
    assert h.generate(clientId="b")["errorCode"] == "RATE_LIMITED"
    # The refusals gave their counts back: the daily budget still has one SMS left...
    assert h.generate(clientId="c", recipient="+40722000222")["otpSent"] is True
    # ...and then it is spent.
    spent = h.generate(clientId="d", recipient="+40722000333")
    assert "SMS budget" in spent["error"]
    # b's own cooldown never started: its pending code was dropped, not counted.
    ledger = h.run(h.repository.get("b", Channel.SMS))
    assert ledger is None or (ledger.sends == [] and ledger.pending == [])


def test_the_per_caller_and_per_country_caps() -> None:
    h = capped(per_caller=Cap(2, timedelta(minutes=1)))
    assert [
        h.generate(clientId=f"c{i}", recipient=f"+4072212345{i}")["otpSent"] for i in range(3)
    ] == [True, True, False]
    h = capped(per_sms_country=Cap(2, HOUR))
    sent = [h.generate(clientId=f"c{i}", recipient=f"+4072212345{i}")["otpSent"] for i in range(3)]
    assert sent == [True, True, False]
    assert h.generate(clientId="fr", recipient="+33612345678")["otpSent"] is True


def test_retry_after_says_when_the_window_frees_a_send() -> None:
    cap = Cap(2, timedelta(seconds=600))
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    first = cap.bucket_of(now)
    later = now + timedelta(seconds=100)
    buckets = {first: 2, cap.bucket_of(later): 1}
    # The first bucket (10 s wide, 1/60 of the window) leaves the window 600 s after it ends.
    assert cap.retry_after(buckets, later) == 510
    assert cap.retry_after({first: 2}, later) is None


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("+19005551234", "premium rate"),  # US 1-900
        ("+449098790000", "premium rate"),  # UK 09
        ("+40900123456", "premium rate"),  # Romania 0900
        ("+881631234567", "satellite"),
        ("+18002345678", "toll free"),
    ],
)
def test_premium_satellite_and_toll_free_numbers_get_no_sms(number: str, reason: str) -> None:
    with pytest.raises(InvalidRecipient, match=reason):
        PhoneNumbers().check(number)


def test_an_sms_country_allow_list() -> None:
    only_ro = PhoneNumbers(allowed_countries=frozenset({"RO"}))
    assert only_ro.check("+40722123456").calling_code == 40
    with pytest.raises(InvalidRecipient, match="FR"):
        only_ro.check("+33612345678")


@pytest.mark.parametrize(
    "value",
    [
        "Ana\u202egnp.exe",  # right-to-left override
        "Ana\u2066x",
        "line\nbreak",
        "\x00",
        "Click https://bank-login.example",
        "www.bank-login",
        "call +40 722 123 456 now",
        "x" * 201,
    ],
)
def test_template_parameters_that_could_phish_are_refused(value: str, harness: Harness) -> None:
    reply = harness.generate(data={"firstName": value})
    assert (reply["otpSent"], reply["errorCode"]) == (False, "INVALID_REQUEST")
    assert value not in reply["error"]
    assert harness.sms.sent == []


def test_names_in_every_script_pass_the_parameter_rules() -> None:
    rules = ParameterRules()
    rules.check(
        {"firstName": "Ștefan-Ionuț", "n": "Zoë O'Brien", "j": "山田", "e": "👩‍💻", "k": "K-7"}
    )
    with pytest.raises(InvalidRequest, match="more than 2"):
        ParameterRules(max_parameters=2).check({"a": 1, "b": 2, "c": 3})
    ParameterRules(allow_links=True).check({"link": "https://bank.example/help"})


def test_the_default_limits_never_hold_back_the_engine_at_200_codes_a_second() -> None:
    # One caller (the engine) for a minute at 200 generates a second to distinct customers,
    # SMS spread over one country's mobile numbers and mail, with every limit at its default.
    h = Harness(caps=SendCaps())
    numbers = random.Random(19).sample(range(10_000_000), 6000)
    limited = 0
    for n in range(12_000):
        if n % 2:
            body = {"channel": "SMS", "recipient": f"+4072{numbers[n // 2]:07d}"}
        else:
            body = {"templateName": "otp-mail", "channel": "MAIL", "recipient": f"c{n}@bank.ro"}
        request = {"templateName": "otp-sms", "clientId": f"customer-{n}", **body}
        outcome = h.run(dispatch.generate(h.generate_use_case, request, caller="kafka"))
        limited += isinstance(outcome.error, RateLimited)
        h.advance(0.005)
    assert limited == 0
    assert len(h.sms.sent) + len(h.mail.sent) == 12_000


def _limit_of(h: Harness, caller: str = "kafka", **body: str) -> str | None:
    request = {"templateName": "otp-sms", "channel": "SMS", **body}
    outcome = h.run(dispatch.generate(h.generate_use_case, request, caller=caller))
    return outcome.error.limit if isinstance(outcome.error, RateLimited) else None


def test_a_toll_fraud_run_through_one_number_range_stops_at_the_prefix_limit() -> None:
    # The default: 30 SMS an hour to one range of 100 numbers, each number new.
    h = Harness(caps=SendCaps())
    fired = [_limit_of(h, clientId=f"bot-{n}", recipient=f"+4072212{n:04d}") for n in range(40)]
    assert fired == [None] * 30 + ["sms_prefix"] * 10
    # The next range is another: nothing held back there.
    assert _limit_of(h, clientId="next", recipient="+40722120100") is None


@pytest.mark.parametrize(
    ("caps", "limit"),
    [
        ({"per_recipient": Cap(2, HOUR)}, "recipient"),
        ({"per_caller": Cap(2, HOUR)}, "caller"),
        ({"per_sms_prefix": Cap(2, HOUR)}, "sms_prefix"),
        ({"per_sms_country": Cap(2, HOUR)}, "sms_country"),
        ({"sms_budget": Cap(2, HOUR)}, "sms_budget"),
    ],
)
def test_each_abuse_limit_fires_and_names_itself(caps: dict[str, Cap], limit: str) -> None:
    h = capped(**caps)
    # Three sends that share the recipient, the caller, the range, the country, the budget.
    fired = [_limit_of(h, clientId=f"c{n}", recipient="+40722123456") for n in range(3)]
    assert fired == [None, None, limit]


# A contract number whose letters force UCS-2: the contract SMS takes two parts (82 of 67).
LONG_NAME = "ȘȚĂÎÂșțăîâ" * 5 + "ȘȚĂÎÂ"


def test_too_long_sms_lock_no_customer_out_and_change_no_stored_state() -> None:
    # The repro of the review: the default limits (10 codes an hour to one recipient), an SMS
    # of at most one part, ten requests whose SMS is too long, then a valid one.
    h = Harness(caps=SendCaps())
    h.checks[Channel.SMS] = SmsLengthCheck(1)
    long_ones = [
        h.generate(clientId="c1", templateName="contract-sign", contractNumber=LONG_NAME)
        for _ in range(10)
    ]
    assert {r["errorCode"] for r in long_ones} == {"DELIVERY_FAILED"}
    assert "segments" in long_ones[0]["error"]
    assert h.sms.sent == []
    assert h.run(h.repository.get("c1", Channel.SMS)) is None  # no code begun
    assert all(sum(b.values()) == 0 for b in h.counters.counts.values())  # nothing counted
    assert h.generate(clientId="c1")["otpSent"] is True


def test_mails_with_an_empty_subject_lock_no_customer_out_and_change_no_stored_state() -> None:
    h = Harness(caps=SendCaps())
    titled = attrs.evolve(MAIL_TEMPLATE, name="titled-mail", subject="{{ title }}")
    h.templates.put(titled)
    blank = [
        h.generate(clientId="c1", channel="MAIL", recipient="ana@example.com",
                   templateName="titled-mail", title="   ")
        for _ in range(10)
    ]  # fmt: skip
    assert {r["errorCode"] for r in blank} == {"DELIVERY_FAILED"}
    assert "subject" in blank[0]["error"]
    assert h.mail.sent == []
    assert h.run(h.repository.get("c1", Channel.MAIL)) is None
    assert all(sum(b.values()) == 0 for b in h.counters.counts.values())
    sent = h.generate(clientId="c1", channel="MAIL", recipient="ana@example.com",
                      templateName="titled-mail", title="Sign in")  # fmt: skip
    assert sent["otpSent"] is True
    assert h.mail.sent[0].message.subject == "Sign in"


def test_the_sms_budget_counts_parts() -> None:
    h = capped(sms_budget=Cap(3, HOUR))
    two_parts = {"templateName": "contract-sign", "contractNumber": LONG_NAME}
    assert h.generate(clientId="c1", **two_parts)["otpSent"] is True
    assert _limit_of(h, clientId="c2", recipient="+40722000222", **two_parts) == "sms_budget"
    # One part still fits: the refused two were given back.
    assert h.generate(clientId="c3", recipient="+40722000333")["otpSent"] is True
    assert h.counters.counts["sms_budget"] == {h.caps.sms_budget.bucket_of(h.clock.now()): 3}
