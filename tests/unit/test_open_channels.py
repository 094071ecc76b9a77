"""A channel is a name: the deployment delivers those it has a recipient rule and a channel for.
A third one needs no edit to the use cases, the domain or the stores."""

from __future__ import annotations

from dependency_injector import providers

from adapters.channels.memory import RecordingChannel
from adapters.recipients import MailAddresses, PhoneNumbers
from domain.channel import Channel
from domain.errors import InvalidRecipient
from domain.recipient import Recipient
from domain.template import NotificationTemplate, TemplateParameter
from entrypoints import dispatch
from entrypoints.container import adapters_of, use_cases_of
from tests.harness import Harness

PUSH = Channel("PUSH")


class DeviceTokens:
    """PUSH's recipient rule: a device token the app registered."""

    def check(self, address: str) -> Recipient:
        if not address.startswith("device:"):
            raise InvalidRecipient("The recipient is not a device token.")
        return Recipient(PUSH, address)


def test_a_channel_the_deployment_does_not_deliver_is_refused_naming_those_it_does() -> None:
    reply = Harness().generate(channel="push", recipient="device:42")
    assert reply["errorCode"] == "UNSUPPORTED_CHANNEL"
    assert "use one of MAIL, SMS" in reply["error"]


def test_a_third_channel_is_a_recipient_rule_a_channel_and_a_template() -> None:
    harness = Harness()
    push = RecordingChannel()
    harness.channels[PUSH] = push
    harness.templates.put(
        NotificationTemplate(
            name="otp-push",
            channel=PUSH,
            language="en",
            text="Your code: {{ otpValue }}",
            parameters=(TemplateParameter("otpValue", mandatory=True),),
        )
    )
    container = harness.wired(harness.settings())
    rules = {Channel.MAIL: MailAddresses(), Channel.SMS: PhoneNumbers(), PUSH: DeviceTokens()}
    adapters_of(container).recipient_rules.override(providers.Object(rules))
    generate = use_cases_of(container).generate_otp()
    validate = use_cases_of(container).validate_otp()
    body = {"templateName": "otp-push", "channel": "PUSH", "clientId": "app-7"}

    refused = harness.run(dispatch.generate(generate, {**body, "recipient": "+40722123456"}))
    sent = harness.run(dispatch.generate(generate, {**body, "recipient": "device:42"}))
    (message,) = push.sent
    code = next(c for c in harness.codes.issued if c in message.message.text)
    checked = harness.run(
        dispatch.validate(validate, {"clientId": "app-7", "channel": "PUSH", "otp": code})
    )

    assert refused.reply["errorCode"] == "INVALID_RECIPIENT"
    assert (sent.reply["otpSent"], message.recipient.address) == (True, "device:42")
    assert checked.reply["otpValid"] is True
