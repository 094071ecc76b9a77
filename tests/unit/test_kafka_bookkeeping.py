"""The Kafka worker's bookkeeping: commit points, per-key order, header reading."""

from __future__ import annotations

import asyncio
import json

import pytest
import structlog

from adapters.kafka.offsets import OffsetTracker
from adapters.kafka.ordering import KeyedSequencer
from adapters.kafka.records import fit_dead_letter, fit_reply, request_id
from adapters.kafka.throttle import ThrottledLog
from entrypoints.kafka.records import ordering_key, process_instance_id

TP = ("topic", 0)


def test_the_commit_point_waits_for_the_oldest_unfinished_record() -> None:
    tracker = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.begin(TP, offset)
    tracker.finish(TP, 12)
    tracker.finish(TP, 11)
    assert tracker.committable() == {}
    tracker.finish(TP, 10)
    assert tracker.committable() == {TP: 13}
    tracker.committed({TP: 13})
    assert tracker.committable() == {}
    assert tracker.in_flight(TP) == 0


def test_a_forgotten_partition_is_not_committed() -> None:
    tracker = OffsetTracker()
    tracker.begin(TP, 1)
    tracker.forget(TP)
    tracker.finish(TP, 1)
    assert tracker.committable() == {}


def test_the_same_key_runs_in_order_and_other_keys_interleave() -> None:
    order: list[str] = []

    async def job(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        order.append(name)

    async def scenario() -> None:
        sequencer = KeyedSequencer()
        tasks = [
            sequencer.submit("a", job("a1", 0.05)),
            sequencer.submit("b", job("b1", 0.0)),
            sequencer.submit("a", job("a2", 0.0)),
            sequencer.submit(None, job("n1", 0.01)),
        ]
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert order.index("a1") < order.index("a2")
    assert order[0] == "b1"


def test_a_failed_job_does_not_block_the_next_of_its_key() -> None:
    async def boom() -> None:
        raise RuntimeError("x")

    async def fine() -> str:
        return "ok"

    async def scenario() -> str:
        sequencer = KeyedSequencer()
        first = sequencer.submit("k", boom())
        second = sequencer.submit("k", fine())
        await asyncio.gather(first, return_exceptions=True)
        return str(await second)

    assert asyncio.run(scenario()) == "ok"


def test_process_instance_id_header_keeps_its_json_type() -> None:
    assert process_instance_id([("processInstanceId", b"12345")]) == 12345
    assert process_instance_id([("processInstanceId", b"pi-7")]) == "pi-7"
    assert process_instance_id([("processInstanceId", b'"42"')]) == "42"
    assert process_instance_id([("other", b"1")]) is None


@pytest.mark.parametrize(
    ("header", "echoed"),
    [
        (b"-7", -7),
        (b"9223372036854775807", 2**63 - 1),
        (b"9223372036854775808", "9223372036854775808"),
        (b"99999999999999999999", "99999999999999999999"),
        (b"NaN", "NaN"),
        (b"1e999", "1e999"),
        (b"Infinity", "Infinity"),
        (b"1.5", "1.5"),
        (b"\xff\xfe", "\ufffd\ufffd"),
        (b'"unterminated', '"unterminated'),
    ],
)
def test_a_process_instance_id_json_cannot_carry_as_a_number_comes_back_as_text(
    header: bytes, echoed: object
) -> None:
    value = process_instance_id([("processInstanceId", header)])
    assert value == echoed
    assert type(value) is type(echoed)
    json.dumps(value, allow_nan=False)  # the reply stays valid JSON


def test_request_ids_are_stable_per_record_and_distinct_between_records() -> None:
    assert request_id("t", 0, 5, 1000) == request_id("t", 0, 5, 1000)
    assert len({request_id("t", p, o, 1000) for p in range(3) for o in range(3)}) == 9


def test_the_ordering_key_is_client_and_channel_in_capitals() -> None:
    assert ordering_key({"clientId": "c1", "channel": "sms"}) == ("c1", "SMS")
    assert ordering_key({"channel": "SMS"}) is None


def test_a_dead_letter_too_large_for_the_broker_is_cut_and_says_so() -> None:
    headers = [("processInstanceId", b"1"), ("dlq-reason", b"too large")]
    value, kept = fit_dead_letter(b"x" * 50_000, b"key", headers, limit=10_000)
    assert len(value) + len(b"key") + sum(len(k) + len(v or b"") for k, v in kept) < 10_000
    assert dict(kept)["dlq-truncated"] == b"50000"
    small, same = fit_dead_letter(b"{}", None, headers, limit=10_000)
    assert (small, same) == (b"{}", headers)


def test_a_reply_too_large_for_the_broker_has_its_echoed_fields_cut() -> None:
    reply = {
        "processInstanceId": "p" * 9000,
        "clientId": "c" * 9000,
        "otpSent": False,
        "channel": {"deep": ["x"] * 2000},
        "error": "e",
        "errorCode": "INVALID_REQUEST",
    }
    value = fit_reply(reply, None, [], limit=4096)
    cut = json.loads(value)
    assert len(value) < 4096
    assert (len(cut["clientId"]), len(cut["processInstanceId"])) == (256, 256)
    assert cut["channel"] is None and cut["errorCode"] == "INVALID_REQUEST"
    assert json.loads(fit_reply({"otpSent": True}, None, [], limit=4096)) == {"otpSent": True}


def test_an_outage_log_says_once_per_interval_how_much_it_held_back() -> None:
    now = [0.0]
    throttle = ThrottledLog(interval=10, clock=lambda: now[0])
    with structlog.testing.capture_logs() as logs:
        written = [throttle.warning("store", "dependency.waiting") for _ in range(50)]
        now[0] = 10.5
        written.append(throttle.warning("store", "dependency.waiting"))
        written.append(throttle.warning("broker", "kafka.client_error"))
    assert written.count(True) == 3
    assert [(e["subject"], e["held_back"]) for e in logs] == [
        ("store", 0), ("store", 49), ("broker", 0),
    ]  # fmt: skip
