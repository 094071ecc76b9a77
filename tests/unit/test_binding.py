"""Transaction binding (the code approves one context) and recipient binding."""

from __future__ import annotations

from domain.channel import Channel
from domain.template import NotificationTemplate
from tests.harness import Harness

PAYMENT = {"amount": "120.50", "currency": "RON", "payee": "RO49AAAA1B31007593840000"}


def test_a_code_for_one_payment_does_not_approve_another(harness: Harness) -> None:
    harness.generate(context=PAYMENT)
    code = harness.last_code()
    tampered = {**PAYMENT, "amount": "9120.50"}
    assert harness.validate(code, context=tampered)["errorCode"] == "OTP_MISMATCH"
    assert harness.validate(code)["errorCode"] == "OTP_MISMATCH"
    # The same context in another key order is the same transaction.
    same = dict(reversed(list(PAYMENT.items())))
    assert harness.validate(code, context=same)["otpValid"] is True


def test_a_code_issued_without_context_is_not_approved_with_one(harness: Harness) -> None:
    harness.generate()
    assert harness.validate(harness.last_code(), context=PAYMENT)["errorCode"] == "OTP_MISMATCH"


def test_the_template_can_show_the_context(harness: Harness) -> None:
    harness.templates.put(
        NotificationTemplate(
            name="pay-sms",
            channel=Channel.SMS,
            language="en",
            text="Pay {{ context.amount }} {{ context.currency }} with {{ otpValue }}",
        )
    )
    assert harness.generate(templateName="pay-sms", context=PAYMENT)["otpSent"] is True
    assert harness.sms.sent[-1].message.text.startswith("Pay 120.50 RON with ")


def test_a_malformed_context_is_refused(harness: Harness) -> None:
    for context in ("text", [1], {"a": {"nested": 1}}, {"x" * 65: 1}, {"a": "\u202e"}):
        reply = harness.generate(context=context)
        assert (reply["otpSent"], reply["errorCode"]) == (False, "INVALID_REQUEST"), context


def test_a_validation_naming_another_recipient_does_not_match(harness: Harness) -> None:
    harness.generate(recipient="+40722123456")
    code = harness.last_code()
    assert harness.validate(code, recipient="+40722999999")["errorCode"] == "OTP_MISMATCH"
    # The same number written another way is the same recipient.
    assert harness.validate(code, recipient="+40 722 123 456")["otpValid"] is True
