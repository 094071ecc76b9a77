"""``otp serve`` processes driven over the real Kafka broker, storing in the MongoDB-wire server."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import OTP, RunningService, service_env, start_service
from tests.integration.kafka import Topics, body, bootstrap, fresh_topics, produce, read
from tests.integration.servers import fresh_database_name, mongo_uri
from tests.outbox import code_in

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.mongo]

HASH_KEY = "e2e-kafka-test-key-0123456789"
ENGINE_HEADERS = [
    ("processInstanceId", b"12345"),
    ("fxContext", b"main"),
    ("Fx-Organization-Id", b"org-1"),
    ("x-unknown-header", b"kept \x00 as is"),
]


class Deployment:
    """Topics, a database and a shared outbox for one or more ``otp serve`` workers."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.topics = fresh_topics()
        database = fresh_database_name()
        self.env = {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap(),
            "KAFKA_CONSUMER_GROUP_ID": f"otp-{database}",
            "MONGODB_URI": mongo_uri().rsplit("/", 1)[0] + f"/{database}",
            "OTP_HASH_KEY": HASH_KEY,
            "OUTBOX_DIR": str(workdir / "outbox"),
            "KAFKA_MAX_IN_FLIGHT": "32",
            **self.topics.env(),
        }
        imported = subprocess.run(
            [OTP, "templates", "import"],
            env=service_env(workdir, **self.env),
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert imported.returncode == 0, imported.stderr
        self.workers: list[RunningService] = []

    def start(self, name: str) -> RunningService:
        folder = self.workdir / name
        folder.mkdir(exist_ok=True)
        worker = start_service(folder, **self.env)
        self.workers.append(worker)
        return worker

    def mails(self) -> dict[str, list[str]]:
        """Codes received per recipient address."""
        received: dict[str, list[str]] = defaultdict(list)
        for path in (self.workdir / "outbox").glob("*.eml"):
            text = path.read_text()
            to = re.search(r"^To: (.+)$", text, re.MULTILINE)
            assert to is not None
            received[to.group(1).strip()].append(code_in(text.split("\n\n", 1)[1]))
        return received

    def stop(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()


@pytest.fixture
def deployment(tmp_path: Path) -> Any:
    running = Deployment(tmp_path)
    yield running
    running.stop()


def _requests(count: int, prefix: str) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    return [
        (
            f"{prefix}-{n}".encode(),
            json.dumps(
                {
                    "templateName": "otp-mail",
                    "channel": "MAIL",
                    "recipient": f"{prefix}{n}@example.com",
                    "clientId": f"{prefix}-{n}",
                }
            ).encode(),
            [("processInstanceId", str(n).encode())],
        )
        for n in range(count)
    ]


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
    produce(deployment.topics.generate_in, _requests(1000, "share"))
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
    produce(deployment.topics.generate_in, _requests(1000, "crash"))
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
