"""Scenarios of features/engine_over_kafka.feature, against the real broker."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when

from tests.integration.kafka import body, produce, read
from tests.kafka_rig import WorkerRig

scenarios("engine_over_kafka.feature")

UNREADABLE = b"this is not JSON"
HEADERS = [
    ("processInstanceId", b"12345"),
    ("fxContext", b"main"),
    ("Fx-Organization-Id", b"org-1"),
    ("x-not-known-to-anyone", b"\x01kept"),
]


def _request(client: str) -> bytes:
    return json.dumps(
        {
            "templateName": "otp-sms",
            "channel": "SMS",
            "recipient": "+40722123456",
            "clientId": client,
        }
    ).encode()


def _exchange(
    rig: WorkerRig, topic: str, records: list[Any], replies: int, group: str | None = None
) -> list[Any]:
    async def scenario() -> list[Any]:
        if records:
            await asyncio.to_thread(produce, topic, records)
        return await asyncio.to_thread(read, [rig.topics.generate_out], replies)

    result: list[Any] = rig.run(scenario, group=group)
    return result


@when(
    parsers.parse(
        'the engine asks over Kafka for a code by SMS for client "{client}" with its usual headers'
    ),
    target_fixture="replies",
)
def engine_asks(rig: WorkerRig, client: str) -> list[Any]:
    return _exchange(
        rig, rig.topics.generate_in, [(b"process-12345", _request(client), HEADERS)], 1
    )


@given(
    parsers.parse(
        'the engine asked over Kafka for a code by SMS for client "{client}" and got its reply'
    ),
    target_fixture="replies",
)
def engine_asked(rig: WorkerRig, client: str) -> list[Any]:
    return engine_asks(rig, client)


@when("Kafka delivers the same request again", target_fixture="replies")
def delivered_again(rig: WorkerRig) -> list[Any]:
    # A consumer group that starts over reads the very same record: a redelivery.
    return _exchange(rig, rig.topics.generate_in, [], 2, group="engine-redelivery")


@when(
    "the engine sends a message that is not JSON for one of its processes", target_fixture="replies"
)
def engine_sends_garbage(rig: WorkerRig) -> list[Any]:
    records = [
        (b"bad", UNREADABLE, [("processInstanceId", b"77")]),
        (b"good", _request("after"), [("processInstanceId", b"78")]),
    ]
    return _exchange(rig, rig.topics.generate_in, records, 2)


@then("the engine receives a reply that says the code was sent")
def reply_sent(replies: list[Any]) -> None:
    assert len(replies) == 1
    assert body(replies[0])["otpSent"] is True


@then("the reply carries exactly the request's headers and key")
def headers_kept(replies: list[Any]) -> None:
    assert replies[0].headers() == HEADERS
    assert replies[0].key() == b"process-12345"


@then("the reply names the engine's process as a number, as the engine keeps it")
def pid_is_number(replies: list[Any]) -> None:
    # The engine's process ids are numbers (a Java long); the header carries the digits.
    value = body(replies[0])["processInstanceId"]
    assert value == int(dict(HEADERS)["processInstanceId"]) and isinstance(value, int)


@then("the engine receives the same reply again")
def same_reply(replies: list[Any]) -> None:
    assert len(replies) == 2
    assert body(replies[0]) == body(replies[1])
    assert replies[0].headers() == replies[1].headers()


@then("the person received exactly one SMS")
def one_sms(rig: WorkerRig) -> None:
    assert len(rig.harness.sms.sent) == 1


@then(parsers.parse('the engine receives a reply that says "{code}"'))
def reply_says(replies: list[Any], code: str) -> None:
    bad = next(r for r in replies if r.key() == b"bad")
    assert (body(bad)["otpSent"], body(bad)["errorCode"]) == (False, code)
    assert body(bad)["processInstanceId"] == 77


@then("the unreadable message is set aside as it came, with the reason")
def dead_letter(rig: WorkerRig) -> None:
    (record,) = read([rig.topics.dead_letter], 1)
    assert record.value() == UNREADABLE
    reason = dict(record.headers() or [])["dlq-reason"]
    assert isinstance(reason, bytes) and b"not valid JSON" in reason


@then("a following request is still answered")
def still_answered(replies: list[Any]) -> None:
    good = next(r for r in replies if r.key() == b"good")
    assert body(good)["otpSent"] is True
