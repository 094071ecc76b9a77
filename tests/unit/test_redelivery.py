"""A request delivered twice (Kafka's at-least-once) has its effects once."""

from __future__ import annotations

from adapters.channels.memory import RecordingChannel
from adapters.codes import SecretsCodeGenerator
from domain.channel import Channel
from domain.notification import DeliveryResult, Notification
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


def test_a_redelivered_generate_whose_delivery_is_recorded_sends_nothing(
    harness: Harness,
) -> None:
    first = harness.run(dispatch.generate(harness.generate_use_case, GENERATE, None, "req-1"))
    again = harness.run(dispatch.generate(harness.generate_use_case, GENERATE, None, "req-1"))
    assert first.reply == again.reply and again.reply["otpSent"] is True
    assert len(harness.sms.sent) == 1
    ledger = harness.run(harness.repository.get("c1", Channel.SMS))
    assert ledger is not None and len(ledger.sends) == 1


class CrashAfterSending(RecordingChannel):
    """Hands the message over, then fails before the service records it: a crash's window."""

    def __init__(self) -> None:
        super().__init__()
        self.crash = True

    async def send(self, notification: Notification) -> DeliveryResult:
        result = await super().send(notification)
        if self.crash:
            self.crash = False
            raise RuntimeError("the worker died here")
        return result


def test_a_crash_between_delivery_and_its_record_resends_the_same_code_once(
    harness: Harness,
) -> None:
    channel = CrashAfterSending()
    harness.channels[Channel.SMS] = channel
    crashed = harness.run(dispatch.generate(harness.generate_use_case, GENERATE, None, "req-1"))
    assert crashed.reply["errorCode"] == "INTERNAL_ERROR"
    again = harness.run(dispatch.generate(harness.generate_use_case, GENERATE, None, "req-1"))
    third = harness.run(dispatch.generate(harness.generate_use_case, GENERATE, None, "req-1"))
    assert again.reply["otpSent"] is True and third.reply == again.reply
    texts = [n.message.text for n in channel.sent]
    assert len(texts) == 2 and texts[0] == texts[1], "one extra delivery, of the same code"
    ledger = harness.run(harness.repository.get("c1", Channel.SMS))
    assert ledger is not None and len(ledger.sends) == 1 and ledger.pending == []
    code = texts[0].split()[-1]
    assert harness.validate(code)["otpValid"] is True


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
