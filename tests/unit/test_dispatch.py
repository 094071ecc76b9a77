"""From raw bytes to a reply: the translation every entrypoint shares."""

from __future__ import annotations

import jsonschema
import pytest

from domain.errors import InvalidRequest
from domain.ledger import OtpLedger
from entrypoints import dispatch
from entrypoints.schemas import body_schemas
from tests.harness import Harness


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object, not list"),
        (b"\xff\xfe", "not UTF-8"),
        (b'"text"', "not str"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_an_invalid_request(raw: bytes, says: str) -> None:
    with pytest.raises(InvalidRequest, match=says):
        dispatch.parse_object(raw)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"channel": "SMS", "recipient": "+40722123456", "clientId": "c1"}, "'templateName'"),
        ({"templateName": "otp-sms", "channel": "SMS", "recipient": "+40722123456"}, "'clientId'"),
        (
            {"templateName": ["x"], "channel": "SMS", "recipient": "+1", "clientId": "c1"},
            "'templateName' must be a string",
        ),
        (
            {"templateName": "t", "channel": "SMS", "recipient": "+1", "clientId": "c", "data": 3},
            "'data' must be a JSON object",
        ),
    ],
)
def test_missing_or_mistyped_fields_are_named(
    harness: Harness, body: dict[str, object], says: str
) -> None:
    outcome = harness.run(dispatch.generate(harness.generate_use_case, body))
    assert outcome.reply["otpSent"] is False
    assert outcome.reply["errorCode"] == "INVALID_REQUEST"
    assert says in outcome.reply["error"]


@pytest.mark.parametrize("instance_id", [12345, "pi-12345"])
def test_the_process_instance_id_comes_back_with_its_json_type(
    harness: Harness, instance_id: object
) -> None:
    reply = harness.generate(processInstanceId=instance_id)
    assert reply["processInstanceId"] == instance_id
    assert type(reply["processInstanceId"]) is type(instance_id)


WRONG_TYPES: list[object] = [{}, [], [[1]], 1.5, True, None]


@pytest.mark.parametrize("wrong", WRONG_TYPES, ids=repr)
def test_replies_never_echo_a_wrong_typed_field_and_keep_their_schema(
    harness: Harness, wrong: object
) -> None:
    schemas = body_schemas()
    for operation, run, schema in (
        ("generate", harness.generate_use_case, "GenerateReply"),
        ("validate", harness.validate_use_case, "ValidateReply"),
    ):
        body = {"clientId": wrong, "channel": wrong, "processInstanceId": wrong, "otp": wrong}
        outcome = harness.run(getattr(dispatch, operation)(run, body))
        jsonschema.validate(outcome.reply, schemas[schema])
        assert (outcome.reply["clientId"], outcome.reply["channel"]) == (None, None)
        assert outcome.reply["processInstanceId"] is None
        assert outcome.reply["errorCode"] == "INVALID_REQUEST"


def test_a_header_process_instance_id_wins_over_the_body(harness: Harness) -> None:
    body = {"clientId": "c1", "channel": "SMS", "otp": "1", "processInstanceId": 1}
    outcome = harness.run(dispatch.validate(harness.validate_use_case, body, 2))
    assert outcome.reply["processInstanceId"] == 2


def test_replies_have_the_contract_fields_in_order(harness: Harness) -> None:
    assert list(harness.generate()) == [
        "processInstanceId",
        "clientId",
        "channel",
        "otpSent",
        "error",
        "errorCode",
    ]


@pytest.mark.parametrize(
    ("channel", "recipient", "code"),
    [
        ("SMS", "0722", "INVALID_RECIPIENT"),
        ("SMS", "not a phone", "INVALID_RECIPIENT"),
        ("MAIL", "ana@", "INVALID_RECIPIENT"),
        ("PIGEON", "+40722123456", "UNSUPPORTED_CHANNEL"),
    ],
)
def test_bad_recipients_and_channels_get_their_codes(
    harness: Harness, channel: str, recipient: str, code: str
) -> None:
    templates = {"SMS": "otp-sms", "MAIL": "otp-mail"}
    reply = harness.generate(
        channel=channel, recipient=recipient, templateName=templates.get(channel, "otp-sms")
    )
    assert (reply["otpSent"], reply["errorCode"]) == (False, code)


def test_an_unexpected_failure_is_an_internal_error_and_the_next_request_works(
    harness: Harness,
) -> None:
    async def broken(*_: object) -> OtpLedger | None:
        raise RuntimeError("boom")

    original = harness.repository.get
    harness.repository.get = broken  # type: ignore[method-assign, assignment]
    assert harness.generate()["errorCode"] == "INTERNAL_ERROR"
    harness.repository.get = original  # type: ignore[method-assign]
    assert harness.generate()["otpSent"] is True


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
        (b'{"clientId": ' + b"9" * 5000 + b"}", "more than 30 digits"),
        (b'{"clientId": NaN}', "NaN"),
        (b'{"clientId": -Infinity}', "-Infinity"),
        (b'{"clientId": 1e999}', "too large"),
        (b'{"clientId": "\xed\xa0\x80"}', "not UTF-8"),
        (b"\xff", "not UTF-8"),
        (b"", "not valid JSON"),
    ],
)
def test_any_bytes_parse_or_are_refused_as_an_invalid_request(raw: bytes, says: str) -> None:
    with pytest.raises(InvalidRequest, match=says):
        dispatch.parse_object(raw)
