"""One fault run: 1,000 generate requests through ``otp serve`` workers, a fault, then every
delivered code validated; the figures printed and checked.

Traffic goes only to the loopback servers of scripts/services and to the workers this run
starts; every wait is bounded, and every process started here is stopped by its id.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs
import httpx
from confluent_kafka import Consumer, Message, TopicPartition

from tests.e2e.conftest import RunningService
from tests.e2e.deployment import Deployment
from tests.integration.kafka import body, produce, read

ROOT = Path(__file__).resolve().parents[2]
SERVICES = [sys.executable, str(ROOT / "scripts" / "services.py")]
REQUESTS = 1000
FIGURES = ROOT / "var" / "faults-last.json"

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def requests(count: int = REQUESTS, prefix: str = "f", first_id: int = 0) -> list[Record]:
    """Generate requests for clients ``{prefix}-{n}``; processInstanceId is first_id + n."""
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
            [("processInstanceId", str(first_id + n).encode())],
        )
        for n in range(count)
    ]


# ---------------------------------------------------------------- the servers


def server_pid(name: str) -> int:
    out = subprocess.run([*SERVICES, "pid", name], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def kill_server(name: str) -> None:
    """kill -9 of the server's whole process group: no shutdown hook, no flush."""
    os.killpg(server_pid(name), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while subprocess.run([*SERVICES, "pid", name], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, f"{name} survived kill -9"
        time.sleep(0.1)


def start_servers() -> None:
    """Starts whichever of the servers is down and waits until it answers."""
    subprocess.run([*SERVICES, "up"], check=True, capture_output=True, timeout=180)


def wait_handled(worker: RunningService, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while worker.logs().count("kafka.handled") < count:
        assert worker.process.poll() is None, f"the worker died:\n{worker.logs()[-3000:]}"
        assert time.monotonic() < deadline, "the worker did not get going"
        time.sleep(0.05)


def answered_past_commit(deployment: Deployment, worker: RunningService) -> int:
    """How many generate records the worker's log shows answered at or past the group's
    committed offset of their partition: after a kill -9, only these (and the records in
    flight, whose reply may be out before their log line) can be answered again."""
    consumer = Consumer(
        {
            "bootstrap.servers": deployment.servers,
            "group.id": deployment.env["KAFKA_CONSUMER_GROUP_ID"],
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    topic = deployment.topics.generate_in
    try:
        numbers = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = {
            tp.partition: tp.offset
            for tp in consumer.committed([TopicPartition(topic, n) for n in numbers], timeout=10)
        }
    finally:
        consumer.close()
    lines = (json.loads(raw) for raw in worker.logs().splitlines() if raw.startswith("{"))
    return sum(
        1
        for line in lines
        if line.get("event") == "kafka.handled"
        and line["offset"] >= committed.get(line["partition"], -1)
    )


def wait_assigned(*workers: RunningService, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    for worker in workers:
        while "kafka.assigned" not in worker.logs():
            assert time.monotonic() < deadline, f"no partitions:\n{worker.logs()[-3000:]}"
            time.sleep(0.1)


def ready(service: RunningService) -> bool:
    try:
        return httpx.get(f"{service.base_url}/readyz", timeout=3).status_code == 200
    except httpx.TransportError:
        return False


# ---------------------------------------------------------------- the figures


@attrs.define
class Figures:
    fault: str
    requests: int
    replies: int = 0
    unanswered: int = 0
    duplicate_replies: int = 0
    duplicates_identical: bool = True
    delivered_requests: int = 0
    extra_deliveries: int = 0
    requests_with_two_codes: int = 0
    validated: int = 0
    wrong_validations: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    notes: dict[str, Any] = attrs.field(factory=dict)

    def line(self) -> str:
        return (
            f"[fault: {self.fault}] sent={self.requests} replies={self.replies} "
            f"unanswered={self.unanswered} duplicate replies={self.duplicate_replies} "
            f"(identical: {'yes' if self.duplicates_identical else 'NO'}) "
            f"delivered={self.delivered_requests} extra deliveries={self.extra_deliveries} "
            f"requests with two codes={self.requests_with_two_codes} "
            f"validated={self.validated} wrong validations={self.wrong_validations} "
            f"dead letters={self.dead_letters} in {self.seconds:.0f} s"
            + "".join(f" {k}={v}" for k, v in self.notes.items())
        )

    def save(self) -> None:
        FIGURES.parent.mkdir(exist_ok=True)
        known = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
        known[self.fault] = attrs.asdict(self)
        FIGURES.write_text(json.dumps(known, indent=2))

    def check(self) -> None:
        assert self.unanswered == 0, self.line()
        assert self.duplicates_identical, self.line()
        assert self.requests_with_two_codes == 0, self.line()
        assert self.wrong_validations == 0, self.line()


def collect_replies(
    deployment: Deployment, expected: Iterable[int], timeout: float = 240
) -> list[Message]:
    wanted = set(expected)

    def all_answered(records: list[Message]) -> bool:
        return wanted <= {body(r).get("processInstanceId") for r in records}

    try:
        return read([deployment.topics.generate_out], 0, timeout=timeout, until=all_answered)
    except AssertionError:
        # Count what came, so the figures say how many are missing.
        return read([deployment.topics.generate_out], 0, timeout=5, until=lambda _: False)


def measure(
    fault: str,
    deployment: Deployment,
    replies: list[Message],
    mails: dict[str, list[str]],
    workers: Iterable[RunningService],
    started: float,
    expected: Iterable[int] = range(REQUESTS),
    prefix: str = "f",
) -> Figures:
    """Counts the replies, then validates every delivered code over Kafka."""
    wanted = set(expected)
    figures = Figures(fault, len(wanted))
    by_id: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for record in replies:
        reply = body(record)
        if reply.get("processInstanceId") in wanted:  # not the replies to extra records
            by_id[reply.get("processInstanceId")].append(reply)
    figures.replies = sum(len(r) for r in by_id.values())
    figures.unanswered = len(wanted - set(by_id))
    figures.duplicate_replies = sum(len(r) - 1 for r in by_id.values())
    figures.duplicates_identical = all(all(x == r[0] for x in r) for r in by_id.values())
    figures.delivered_requests = len(mails)
    figures.extra_deliveries = sum(len(codes) for codes in mails.values()) - len(mails)
    figures.requests_with_two_codes = sum(1 for codes in mails.values() if len(set(codes)) > 1)
    checks: list[Record] = []
    for recipient, codes in mails.items():
        n = int(recipient.split("@")[0].removeprefix(prefix))
        request = {"clientId": f"{prefix}-{n}", "channel": "MAIL", "otp": codes[-1]}
        checks.append(
            (None, json.dumps(request).encode(), [("processInstanceId", f"{n}".encode())])
        )
    if checks:
        produce(deployment.topics.validate_in, checks)
        verdicts = read([deployment.topics.validate_out], 0, timeout=240,
                        until=lambda got: len({body(r)["processInstanceId"] for r in got})
                        >= len(checks))  # fmt: skip
        latest = {body(r)["processInstanceId"]: body(r) for r in verdicts}
        figures.validated = len(latest)
        figures.wrong_validations = sum(1 for v in latest.values() if v["otpValid"] is not True)
    figures.dead_letters = sum(w.logs().count("kafka.dead_letter") for w in workers)
    figures.seconds = time.monotonic() - started
    return figures


def replies_for(deployment: Deployment, topic: str, ids: set[int]) -> dict[int, dict[str, Any]]:
    """The newest reply per processInstanceId in ``ids``, waiting until each has one."""

    def complete(records: list[Message]) -> bool:
        return ids <= {body(r).get("processInstanceId") for r in records}

    records = read([topic], 0, timeout=240, until=complete)
    return {
        reply["processInstanceId"]: reply
        for reply in map(body, records)
        if reply.get("processInstanceId") in ids
    }


def validate_codes(
    deployment: Deployment, codes: dict[int, str], first_id: int, prefix: str = "f"
) -> dict[int, bool]:
    """Validates ``codes[n]`` for client ``{prefix}-{n}`` over Kafka; otpValid per n."""
    checks: list[Record] = [
        (
            None,
            json.dumps({"clientId": f"{prefix}-{n}", "channel": "MAIL", "otp": code}).encode(),
            [("processInstanceId", str(first_id + n).encode())],
        )
        for n, code in codes.items()
    ]
    produce(deployment.topics.validate_in, checks)
    got = replies_for(deployment, deployment.topics.validate_out, {first_id + n for n in codes})
    return {n: got[first_id + n]["otpValid"] is True for n in codes}


Fault = Callable[[Deployment, list[RunningService]], None]
