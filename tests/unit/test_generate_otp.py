"""Generating a code: checks, template, storage and delivery, over in-memory adapters."""

from __future__ import annotations

import attrs

from adapters.repositories.memory import InMemoryOtpRepository
from application.outcomes import Status
from application.ports import StaleLedger
from application.use_cases.generate_otp import GenerateOtpCommand
from domain.channel import Channel
from domain.ledger import OtpLedger
from entrypoints.http.status import status_for
from tests.harness import Harness


def test_a_generated_code_is_sent_and_only_its_hash_is_stored(harness: Harness) -> None:
    reply = harness.generate()
    assert reply["otpSent"] is True
    code = harness.last_code()
    assert len(code) == 6
    assert code not in repr(harness.repository.documents)  # type: ignore[attr-defined]


def test_the_channel_name_is_case_insensitive_and_echoed_in_capitals(harness: Harness) -> None:
    reply = harness.generate(channel="sms")
    assert (reply["otpSent"], reply["channel"]) == (True, "SMS")


def test_the_requested_language_is_used_when_the_template_has_it(harness: Harness) -> None:
    harness.generate(language="RO")
    assert harness.sms.sent[-1].message.text.startswith("Codul ")
    assert harness.sms.sent[-1].language == "ro"


def test_a_missing_language_falls_back_to_the_default(harness: Harness) -> None:
    harness.generate(language="de")
    assert harness.sms.sent[-1].language == "en"


def test_parameters_come_from_top_level_keys_content_params_and_data(harness: Harness) -> None:
    reply = harness.generate(templateName="contract-sign", contentParams={"contractNumber": "K-7"})
    assert reply["otpSent"] is True
    assert "K-7" in harness.sms.sent[-1].message.text
    harness.advance(60)
    harness.generate(templateName="contract-sign", contractNumber="K-8")
    assert "K-8" in harness.sms.sent[-1].message.text


def test_a_caller_cannot_choose_the_code(harness: Harness) -> None:
    reply = harness.generate(data={"otpValue": "000000"})
    assert (reply["otpSent"], reply["errorCode"]) == (False, "INVALID_REQUEST")
    assert harness.sms.sent == []


def test_a_missing_mandatory_parameter_is_named_and_nothing_is_sent(harness: Harness) -> None:
    reply = harness.generate(templateName="contract-sign")
    assert reply["errorCode"] == "TEMPLATE_PARAMETER_MISSING"
    assert "contractNumber" in reply["error"]
    assert harness.sms.sent == []


def test_a_template_of_the_other_channel_is_not_found(harness: Harness) -> None:
    reply = harness.generate(templateName="otp-mail")
    assert reply["errorCode"] == "TEMPLATE_NOT_FOUND"


def test_a_failed_delivery_says_so_without_the_code(harness: Harness) -> None:
    harness.sms.fail_with = "provider said no"
    reply = harness.generate()
    assert (reply["otpSent"], reply["errorCode"]) == (False, "DELIVERY_FAILED")
    assert "provider said no" in reply["error"]


def test_an_unconfigured_channel_is_unsupported(harness: Harness) -> None:
    del harness.channels[Channel.SMS]
    assert harness.generate()["errorCode"] == "UNSUPPORTED_CHANNEL"


def test_the_use_case_answers_with_an_outcome_not_an_exception(harness: Harness) -> None:
    command = GenerateOtpCommand(
        template_name="otp-sms", channel="SMS", recipient="+40722123456", client_id="v1"
    )
    sent = harness.run(harness.generate_use_case.execute(command))
    assert (sent.status, sent.succeeded, sent.delivery.delivered) == (Status.SENT, True, True)
    limited = harness.run(harness.generate_use_case.execute(command))
    assert (limited.status, limited.error.code) == (Status.LIMITED, "RATE_LIMITED")
    assert limited.retry_after_seconds == 30
    wrong = attrs.evolve(command, recipient="nope")
    assert harness.run(harness.generate_use_case.execute(wrong)).status is Status.INVALID
    harness.sms.fail_with = "provider down"
    harness.advance(31)
    failed = harness.run(harness.generate_use_case.execute(command))
    assert (failed.status, failed.error.code) == (Status.NOT_DELIVERED, "DELIVERY_FAILED")


class AlwaysStale(InMemoryOtpRepository):
    """Another writer always got there first."""

    saves = 0

    async def save(self, ledger: OtpLedger) -> None:
        self.saves += 1
        raise StaleLedger((ledger.client_id, ledger.channel.value))


def test_contention_that_persists_is_unavailable_and_says_so() -> None:
    stale = AlwaysStale()
    harness = Harness(repository=stale)
    reply = harness.generate()
    assert (reply["otpSent"], reply["errorCode"]) == (False, "INTERNAL_ERROR")
    assert "try again" in reply["error"]
    assert status_for(harness.run(harness.generate_use_case.execute(
        GenerateOtpCommand(template_name="otp-sms", channel="SMS", recipient="+40722123456",
                           client_id="c1")
    )).error) == 503  # fmt: skip
    assert stale.saves == 2 * 5  # both generates tried five times, backing off
    assert harness.sms.sent == []
