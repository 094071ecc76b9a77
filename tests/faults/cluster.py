"""Fault runs on the replicated cluster of scripts/services: an engine-like producer paced at
25 generates a second, a reader that times every reply, and the broker to kill.

Kafka's own failover is measured in the same run: the longest an engine record (idempotent,
acks=all, murmur2 as the Java client) waited for its acknowledgement. Traffic goes only to the
loopback cluster; every wait is bounded; every process started here is stopped by its id.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
from confluent_kafka import Consumer, KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient

from tests.e2e.conftest import RunningService
from tests.e2e.deployment import Deployment
from tests.faults.load import SERVICES, Figures, Record, kill_server, requests
from tests.integration.kafka import body, produce, read

RATE = 25.0
REQUESTS = 1500
RESTART_AFTER = 20.0
PARTITIONS = 6


def start_cluster() -> None:
    """Starts whichever cluster node is down and waits until all three are registered."""
    subprocess.run([*SERVICES, "cluster", "up"], check=True, capture_output=True, timeout=180)


def stop_cluster() -> None:
    subprocess.run([*SERVICES, "cluster", "down"], check=True, capture_output=True, timeout=180)


def cluster_bootstrap() -> str:
    out = subprocess.run([*SERVICES, "env"], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        if line.startswith("export OTP_TEST_KAFKA_CLUSTER="):
            return line.split("=", 1)[1]
    raise AssertionError("scripts/services env names no cluster")


class ClusterDeployment(Deployment):
    """Topics of 6 partitions with three replicas each."""

    partitions = PARTITIONS
    replicas = 3


def cluster_deployment(workdir: Path, servers: str, **env: str) -> Deployment:
    """A deployment on the cluster with the service's default limits: the engine is one
    caller, and nothing here may limit it."""
    deployment = ClusterDeployment(workdir, servers=servers, **env)
    for variable in (
        "LIMIT_RECIPIENT_MAX_SENDS",
        "LIMIT_SMS_COUNTRY_MAX_SENDS",
        "LIMIT_CALLER_MAX_SENDS",
        "KAFKA_MAX_IN_FLIGHT",
    ):
        deployment.env.pop(variable)
    return deployment


# ---------------------------------------------------------------- who leads what


def node_of_leader(servers: str, topic: str, partition: int = 0) -> int:
    admin = AdminClient({"bootstrap.servers": servers})
    leader = admin.list_topics(topic, timeout=10).topics[topic].partitions[partition].leader
    assert leader > 0, f"{topic}[{partition}] has no leader"
    return int(leader)


def node_of_coordinator(servers: str, group: str) -> int:
    admin = AdminClient({"bootstrap.servers": servers})
    description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    return int(description.coordinator.id)


def kill_node(node: int) -> None:
    kill_server(f"node{node}")


# ---------------------------------------------------------------- the engine and the reader


@attrs.define
class Engine:
    """Sends the load at a steady rate from a thread, as the engine's producer would."""

    servers: str
    topic: str
    load: list[Record]
    sent: dict[int, float] = attrs.field(factory=dict)
    acked: dict[int, float] = attrs.field(factory=dict)
    failed: list[str] = attrs.field(factory=list)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        producer = Producer(
            {
                "bootstrap.servers": self.servers,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "partitioner": "murmur2_random",
                "log_level": 0,
            }
        )
        began = time.monotonic()
        for n, (key, value, headers) in enumerate(self.load):
            # poll returns early when it serves an ack: wait out the whole pause.
            while (pause := began + n / RATE - time.monotonic()) > 0:
                producer.poll(pause)

            def acked(error: KafkaError | None, _: Message, n: int = n) -> None:
                if error is None:
                    self.acked[n] = time.monotonic()
                else:
                    self.failed.append(error.str())

            self.sent[n] = time.monotonic()
            producer.produce(
                self.topic, value=value, key=key, headers=list[Any](headers), on_delivery=acked
            )
            producer.poll(0)
        producer.flush(120)

    def wait(self, timeout: float) -> None:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the engine did not finish sending"

    def longest_stall(self) -> float:
        """Kafka's own failover as the engine lives it: the longest wait for an ack."""
        return max(self.acked[n] - self.sent[n] for n in self.acked)


@attrs.define
class Replies:
    """Reads a reply topic from its start in a thread, timing each reply's arrival."""

    servers: str
    topic: str
    arrived: list[tuple[float, dict[str, Any], int, bytes | None]] = attrs.field(factory=list)
    stopping: threading.Event = attrs.field(factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="replies", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.servers,
                "group.id": f"reader-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "log_level": 0,
            }
        )
        consumer.subscribe([self.topic])
        try:
            while not self.stopping.is_set():
                for record in consumer.consume(200, 0.2):
                    if record.error() is None:
                        self.arrived.append(
                            (time.monotonic(), body(record), record.partition() or 0, record.key())
                        )
        finally:
            consumer.close()

    def by_id(self) -> dict[Any, list[dict[str, Any]]]:
        found: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for _, reply, _, _ in list(self.arrived):
            found[reply.get("processInstanceId")].append(reply)
        return found

    def wait_for(self, ids: set[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ids <= set(self.by_id()) and time.monotonic() < deadline:
            time.sleep(0.2)

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(15)

    def longest_gap(self) -> float:
        """The longest time with no reply at all, from the first reply to the last."""
        stamps = sorted(at for at, _, _, _ in self.arrived)
        return max((b - a for a, b in zip(stamps, stamps[1:], strict=False)), default=0.0)


# ---------------------------------------------------------------- one run


def run_under_fault(
    name: str,
    deployment: Deployment,
    workers: list[RunningService],
    fault: Callable[[Engine], None],
    prefix: str = "c",
) -> Figures:
    """The load, the fault (it may block; it sees the engine's progress), every reply, and
    every delivered code validated; the figures with the reply gap beside Kafka's stall."""
    started = time.monotonic()
    load = requests(REQUESTS, prefix=prefix)
    engine = Engine(deployment.servers, deployment.topics.generate_in, load)
    replies = Replies(deployment.servers, deployment.topics.generate_out)
    replies.start()
    engine.start()
    try:
        fault(engine)
        engine.wait(180)
        replies.wait_for(set(range(REQUESTS)), 180)
        time.sleep(2)  # a late duplicate would arrive now
    finally:
        replies.stop()
    figures = count(name, deployment, replies, prefix)
    figures.notes.update(
        {
            "longest_reply_gap_s": round(replies.longest_gap(), 2),
            "kafka_stall_s": round(engine.longest_stall(), 2),
            "engine_send_errors": len(engine.failed),
            "rate_limited": sum(
                1
                for answers in replies.by_id().values()
                for reply in answers
                if reply.get("errorCode") == "RATE_LIMITED"
            ),
            "longest_request_to_reply_s": round(longest_wait(engine, replies), 2),
        }
    )
    figures.dead_letters = sum(w.logs().count("kafka.dead_letter") for w in workers)
    figures.seconds = time.monotonic() - started
    return figures


def longest_wait(engine: Engine, replies: Replies) -> float:
    first: dict[Any, float] = {}
    for at, reply, _, _ in replies.arrived:
        first.setdefault(reply.get("processInstanceId"), at)
    return max((first[n] - engine.sent[n] for n in engine.sent if n in first), default=0.0)


def count(name: str, deployment: Deployment, replies: Replies, prefix: str) -> Figures:
    wanted = set(range(REQUESTS))
    figures = Figures(name, REQUESTS)
    by_id = {k: v for k, v in replies.by_id().items() if k in wanted}
    figures.replies = sum(len(r) for r in by_id.values())
    figures.unanswered = len(wanted - set(by_id))
    figures.duplicate_replies = sum(len(r) - 1 for r in by_id.values())
    figures.duplicates_identical = all(all(x == r[0] for x in r) for r in by_id.values())
    mails = deployment.mails()
    figures.delivered_requests = len(mails)
    figures.extra_deliveries = sum(len(codes) for codes in mails.values()) - len(mails)
    figures.requests_with_two_codes = sum(1 for codes in mails.values() if len(set(codes)) > 1)
    checks: list[Record] = []
    for recipient, codes in mails.items():
        n = int(recipient.split("@")[0].removeprefix(prefix))
        request = {"clientId": f"{prefix}-{n}", "channel": "MAIL", "otp": codes[-1]}
        checks.append(
            (None, json.dumps(request).encode(), [("processInstanceId", str(n).encode())])
        )
    if checks:
        produce(deployment.topics.validate_in, checks, deployment.servers)
        verdicts = read(
            [deployment.topics.validate_out],
            0,
            timeout=240,
            until=lambda got: len({body(r)["processInstanceId"] for r in got}) >= len(checks),
            servers=deployment.servers,
        )
        latest = {body(r)["processInstanceId"]: body(r) for r in verdicts}
        figures.validated = len(latest)
        figures.wrong_validations = sum(1 for v in latest.values() if v["otpValid"] is not True)
    return figures


def after(engine: Engine, sent: int, timeout: float = 120) -> None:
    """Waits until the engine has sent ``sent`` records."""
    deadline = time.monotonic() + timeout
    while len(engine.sent) < sent:
        assert time.monotonic() < deadline, "the engine stopped sending"
        time.sleep(0.05)


@attrs.define
class Nodes:
    """Restarts whatever a run killed, so the next run has three nodes again."""

    killed: list[int] = attrs.field(factory=list)

    def kill(self, node: int) -> None:
        kill_node(node)
        self.killed.append(node)

    def restore(self) -> None:
        if self.killed:
            start_cluster()
            self.killed.clear()


def nodes() -> Iterator[Nodes]:
    keeper = Nodes()
    try:
        yield keeper
    finally:
        keeper.restore()
