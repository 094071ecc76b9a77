"""The Kafka worker in-process against the real broker, with in-memory stores and channels."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

import pytest

from tests.integration.kafka import body, produce, read
from tests.kafka_rig import WorkerRig

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

T = TypeVar("T")

GENERATE = {
    "templateName": "otp-sms",
    "channel": "SMS",
    "recipient": "+40722123456",
    "clientId": "k1",
}
ENGINE_HEADERS = [
    ("processInstanceId", b"12345"),
    ("fxContext", b"main"),
    ("Fx-AppId", b"app-9"),
    ("Fx-Organization-Id", b"org-1"),
    ("x-anything", b"\x00\xff binary"),
]


def test_a_generate_request_is_answered_with_its_headers_and_key(rig: WorkerRig) -> None:
    async def scenario() -> list[Any]:
        await asyncio.to_thread(
            produce,
            rig.topics.generate_in,
            [(b"key-1", json.dumps(GENERATE).encode(), ENGINE_HEADERS)],
        )
        return await asyncio.to_thread(read, [rig.topics.generate_out], 1)

    (reply,) = rig.run(scenario)
    assert reply.key() == b"key-1"
    assert reply.headers() == ENGINE_HEADERS
    assert body(reply) == {
        "processInstanceId": 12345,
        "clientId": "k1",
        "channel": "SMS",
        "otpSent": True,
        "error": None,
        "errorCode": None,
    }
    assert len(rig.harness.sms.sent) == 1


def test_a_body_process_instance_id_keeps_its_type_without_header(rig: WorkerRig) -> None:
    request = {"clientId": "k1", "channel": "SMS", "otp": "123456", "processInstanceId": "pi-7"}

    async def scenario() -> list[Any]:
        await asyncio.to_thread(
            produce, rig.topics.validate_in, [(None, json.dumps(request).encode(), [])]
        )
        return await asyncio.to_thread(read, [rig.topics.validate_out], 1)

    (reply,) = rig.run(scenario)
    assert body(reply)["processInstanceId"] == "pi-7"
    assert body(reply)["errorCode"] == "OTP_NOT_FOUND"


def test_generate_then_validate_over_kafka(rig: WorkerRig) -> None:
    async def scenario() -> dict[str, Any]:
        await asyncio.to_thread(
            produce, rig.topics.generate_in, [(b"k", json.dumps(GENERATE).encode(), ENGINE_HEADERS)]
        )
        await asyncio.to_thread(read, [rig.topics.generate_out], 1)
        check = {"clientId": "k1", "channel": "SMS", "otp": rig.harness.last_code()}
        await asyncio.to_thread(
            produce, rig.topics.validate_in, [(b"k", json.dumps(check).encode(), ENGINE_HEADERS)]
        )
        (reply,) = await asyncio.to_thread(read, [rig.topics.validate_out], 1)
        return body(reply)

    reply = rig.run(scenario)
    assert (reply["otpValid"], reply["processInstanceId"]) == (True, 12345)


def test_poison_records_are_dead_lettered_or_answered_and_consumption_goes_on(
    rig: WorkerRig,
) -> None:
    pid = [("processInstanceId", b"9")]
    records = [
        (b"a", b"{not json", pid),
        (b"b", b"[1, 2, 3]", pid),
        (b"c", json.dumps({"channel": "SMS"}).encode(), pid),
        (b"d", b"{" + b" " * 5000 + b"}", pid),
        (b"e", b"\xff\xfe no header, no reply", []),
        (b"f", json.dumps({**GENERATE, "clientId": "after"}).encode(), pid),
    ]

    async def scenario() -> tuple[list[Any], list[Any]]:
        await asyncio.to_thread(produce, rig.topics.generate_in, records)
        replies = await asyncio.to_thread(read, [rig.topics.generate_out], 5)
        dead = await asyncio.to_thread(read, [rig.topics.dead_letter], 4)
        return replies, dead

    replies, dead = rig.run(scenario)
    by_key = {r.key(): body(r) for r in replies}
    assert set(by_key) == {b"a", b"b", b"c", b"d", b"f"}
    for key in (b"a", b"b", b"c", b"d"):
        assert (by_key[key]["otpSent"], by_key[key]["errorCode"]) == (False, "INVALID_REQUEST")
    assert "larger than 4096 bytes" in by_key[b"d"]["error"]
    assert by_key[b"f"]["otpSent"] is True
    dead_by_key = {r.key(): r for r in dead}
    assert set(dead_by_key) == {b"a", b"b", b"d", b"e"}
    assert dead_by_key[b"a"].value() == b"{not json"
    headers = dict(dead_by_key[b"e"].headers() or [])
    assert headers["dlq-topic"] == rig.topics.generate_in.encode()
    assert b"not UTF-8" in headers["dlq-reason"]


def test_a_redelivered_record_gets_the_same_reply_and_sends_nothing_twice(
    rig: WorkerRig,
) -> None:
    async def first() -> list[Any]:
        await asyncio.to_thread(
            produce, rig.topics.generate_in, [(b"k", json.dumps(GENERATE).encode(), ENGINE_HEADERS)]
        )
        return await asyncio.to_thread(read, [rig.topics.generate_out], 1)

    async def again() -> list[Any]:
        # A new group starts from the beginning: the very same record is delivered again.
        return await asyncio.to_thread(read, [rig.topics.generate_out], 2)

    rig.run(first)
    replies = rig.run(again, group="otp-test-redelivery")
    assert body(replies[0]) == body(replies[1])
    assert len(rig.harness.sms.sent) == 1
