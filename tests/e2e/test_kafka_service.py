"""``otp serve`` processes driven over the real Kafka broker, storing in the MongoDB-wire server."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from tests.e2e.conftest import RunningService
from tests.e2e.deployment import ENGINE_HEADERS, Deployment
from tests.faults.load import requests
from tests.integration.kafka import Topics, body, produce, read

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.mongo]


def _wait_assigned(worker: RunningService, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while "kafka.assigned" not in worker.logs():
        assert time.monotonic() < deadline, f"worker never got partitions:\n{worker.logs()}"
        time.sleep(0.2)


def test_the_engine_generates_then_validates_and_gets_its_headers_back(
    deployment: Deployment,
) -> None:
    worker = deployment.start("w1")
    topics: Topics = deployment.topics
    request = {
        "templateName": "otp-mail",
        "channel": "MAIL",
        "recipient": "ana@example.com",
        "clientId": "1871201460101",
        "language": "ro",
        "data": {"firstName": "Ana"},
    }
    produce(topics.generate_in, [(b"pi-12345", json.dumps(request).encode(), ENGINE_HEADERS)])
    (reply,) = read([topics.generate_out], 1)
    assert reply.key() == b"pi-12345"
    assert reply.headers() == ENGINE_HEADERS
    assert body(reply)["processInstanceId"] == 12345
    assert body(reply)["otpSent"] is True
    (code,) = deployment.mails()["ana@example.com"]
    check = {"clientId": "1871201460101", "channel": "MAIL", "otp": code}
    produce(topics.validate_in, [(b"pi-12345", json.dumps(check).encode(), ENGINE_HEADERS)])
    (verdict,) = read([topics.validate_out], 1)
    assert verdict.headers() == ENGINE_HEADERS
    assert (body(verdict)["otpValid"], body(verdict)["processInstanceId"]) == (True, 12345)
    assert worker.stop() == 0
    assert code not in worker.logs()


def test_two_workers_in_one_group_share_1000_requests_with_one_reply_each(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = deployment.start("w1"), deployment.start("w2")
    started = time.monotonic()
    _wait_assigned(first)
    _wait_assigned(second)
    time.sleep(2)  # let the cooperative rebalance settle before the load starts
    produce(deployment.topics.generate_in, requests(1000, "share"))
    loaded = time.monotonic()
    replies = read([deployment.topics.generate_out], 1000, timeout=240)
    answered = time.monotonic()
    time.sleep(3)
    late = read([deployment.topics.generate_out], 1000, timeout=30)
    ids = Counter(body(r)["processInstanceId"] for r in late)
    handled = [w.logs().count("kafka.handled") for w in (first, second)]
    with capsys.disabled():
        print(
            f"\n[two workers] replies={len(late)} distinct={len(ids)} per-worker={handled} "
            f"answered in {answered - loaded:.1f} s ({1000 / (answered - loaded):.0f} req/s), "
            f"set-up {loaded - started:.1f} s"
        )
    assert len(replies) >= 1000 and len(late) == 1000
    assert set(ids) == set(range(1000)) and max(ids.values()) == 1
    assert all(body(r)["otpSent"] for r in late)
    assert min(handled) > 0, f"one worker handled nothing: {handled}"
    assert [w.stop() for w in (first, second)] == [0, 0]


def test_kill_9_mid_run_loses_no_request_and_never_sends_two_codes(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = deployment.start("w1")
    _wait_assigned(worker)
    produce(deployment.topics.generate_in, requests(1000, "crash"))
    deadline = time.monotonic() + 120
    while worker.logs().count("kafka.handled") < 300:
        assert time.monotonic() < deadline, "the worker did not get going"
        time.sleep(0.05)
    worker.process.kill()  # SIGKILL: no drain, no commit
    worker.process.wait()
    handled_before = worker.logs().count("kafka.handled")
    restarted = deployment.start("w1-restarted")

    def all_answered(records: list[Any]) -> bool:
        return len({body(r)["processInstanceId"] for r in records}) >= 1000

    everything = read([deployment.topics.generate_out], 1000, timeout=240, until=all_answered)
    ids = Counter(body(r)["processInstanceId"] for r in everything)
    mails = deployment.mails()
    codes_per_request = Counter(len(set(codes)) for codes in mails.values())
    with capsys.disabled():
        print(
            f"\n[kill -9] handled before kill={handled_before} replies={len(everything)} "
            f"distinct requests answered={len(ids)} "
            f"duplicated replies={sum(ids.values()) - len(ids)} "
            f"mails={sum(len(c) for c in mails.values())} requests mailed={len(mails)} "
            f"distinct codes per request={dict(codes_per_request)}"
        )
    assert set(ids) == set(range(1000))
    assert all(body(r)["otpSent"] for r in everything)
    assert len(mails) == 1000
    assert set(codes_per_request) == {1}, "a request sent two different codes"
    assert restarted.stop() == 0
