"""A request delivered twice (Kafka's at-least-once) has its effects once."""

from __future__ import annotations

from adapters.codes import SecretsCodeGenerator
from entrypoints import dispatch
from tests.harness import Harness

GENERATE = {
    "templateName": "otp-sms",
    "channel": "SMS",
    "recipient": "+40722123456",
    "clientId": "c1",
}


def test_per_request_codes_are_stable_per_id_and_differ_between_ids() -> None:
    codes = SecretsCodeGenerator(b"k" * 32)
    assert codes.generate(6, "r1") == codes.generate(6, "r1")
    assert len({codes.generate(6, f"r{n}") for n in range(100)}) > 90
    other_key = SecretsCodeGenerator(b"x" * 32)
    assert any(other_key.generate(6, f"r{n}") != codes.generate(6, f"r{n}") for n in range(5))


def test_a_redelivered_generate_resends_the_same_code_without_counting_a_send(
    harness: Harness,
) -> None:
    first = harness.run(dispatch.generate(harness.generate_use_case, GENERATE, None, "req-1"))
    again = harness.run(dispatch.generate(harness.generate_use_case, GENERATE, None, "req-1"))
    assert first.reply["otpSent"] and again.reply["otpSent"]
    texts = [n.message.text for n in harness.sms.sent]
    assert len(texts) == 2 and texts[0] == texts[1]
    ledger = harness.run(harness.repository.get("c1", harness.sms.sent[0].recipient.channel))
    assert ledger is not None and len(ledger.sends) == 1


def test_a_new_request_inside_the_cooldown_is_still_refused(harness: Harness) -> None:
    harness.run(dispatch.generate(harness.generate_use_case, GENERATE, None, "req-1"))
    other = harness.run(dispatch.generate(harness.generate_use_case, GENERATE, None, "req-2"))
    assert other.reply["errorCode"] == "RATE_LIMITED"


def test_a_redelivered_accepted_validation_is_accepted_again_but_no_other_is(
    harness: Harness,
) -> None:
    harness.generate()
    body = {"clientId": "c1", "channel": "SMS", "otp": harness.last_code()}
    use_case = harness.validate_use_case
    assert harness.run(dispatch.validate(use_case, body, None, "v-1")).reply["otpValid"]
    assert harness.run(dispatch.validate(use_case, body, None, "v-1")).reply["otpValid"]
    assert not harness.run(dispatch.validate(use_case, body, None, "v-2")).reply["otpValid"]
    assert not harness.validate(body["otp"])["otpValid"]
