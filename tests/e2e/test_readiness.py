"""``/readyz`` tells the truth: 503, naming the reason, while a reply topic is missing, while the
worker holds no partition though its group has members, and while the template store holds no
template; 200 again once the cause is gone."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from tests.e2e.conftest import RunningService, launch_service
from tests.e2e.deployment import Deployment
from tests.integration.kafka import bootstrap
from tests.integration.servers import mongo_uri

pytestmark = [pytest.mark.e2e]


def readiness(service: RunningService) -> tuple[int, str]:
    try:
        answer = httpx.get(f"{service.base_url}/readyz", timeout=3)
    except httpx.TransportError:
        return 0, "not listening"
    return answer.status_code, str(answer.json().get("reason", ""))


def wait_readiness(service: RunningService, status: int, timeout: float = 30) -> str:
    """Polls /readyz until it answers ``status``; returns the reason it gave."""
    deadline = time.monotonic() + timeout
    seen = (0, "")
    while time.monotonic() < deadline:
        assert service.process.poll() is None, service.logs()[-3000:]
        seen = readiness(service)
        if seen[0] == status:
            return seen[1]
        time.sleep(0.2)
    raise AssertionError(f"/readyz answered {seen}, not {status}:\n{service.logs()[-3000:]}")


def wait_unready_for(service: RunningService, reason: str, timeout: float = 30) -> str:
    """Polls /readyz until it answers 503 naming ``reason``: a worker says "starting" and
    "not connected yet" first, for as long as the machine takes to start it."""
    deadline = time.monotonic() + timeout
    seen = (0, "")
    while time.monotonic() < deadline:
        assert service.process.poll() is None, service.logs()[-3000:]
        seen = readiness(service)
        if seen[0] == 503 and reason in seen[1]:
            return seen[1]
        time.sleep(0.2)
    raise AssertionError(f"/readyz answered {seen}, not 503 for {reason!r}")


def metric(service: RunningService, name: str) -> float:
    text = httpx.get(f"{service.base_url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not among the metrics")


@pytest.mark.kafka
@pytest.mark.mongo
def test_a_missing_reply_topic_makes_the_service_unready_until_it_exists(
    tmp_path: Path,
) -> None:
    missing = f"t{uuid.uuid4().hex[:10]}.gen.out.later"
    deployment = Deployment(tmp_path, KAFKA_TOPIC_OTP_GENERATE_OUT=missing)
    try:
        worker = listening(tmp_path / "w1", **deployment.env)
        deployment.workers.append(worker)
        wait_unready_for(worker, f"the reply topic {missing} does not exist", timeout=40)
        admin = AdminClient({"bootstrap.servers": bootstrap()})
        admin.create_topics([NewTopic(missing, 4, 1)])[missing].result(timeout=30)
        wait_readiness(worker, 200)
    finally:
        deployment.stop()


@pytest.mark.kafka
@pytest.mark.mongo
def test_a_worker_holding_no_partition_while_its_group_has_members_is_unready(
    tmp_path: Path,
) -> None:
    deployment = Deployment(tmp_path, KAFKA_UNASSIGNED_READY_SECONDS="5")
    group = deployment.env["KAFKA_CONSUMER_GROUP_ID"]
    # A member of another deployment with another assignor holds the group: the service's
    # worker cannot join (the group's members share no assignor) and holds nothing.
    other = Consumer(
        {
            "bootstrap.servers": bootstrap(),
            "group.id": group,
            "partition.assignment.strategy": "range",
            "log_level": 0,
        }
    )
    other.subscribe([deployment.topics.generate_in, deployment.topics.validate_in])
    deadline = time.monotonic() + 30
    while not other.assignment():
        assert time.monotonic() < deadline, "the other member got no partition"
        other.poll(0.2)
    try:
        worker = listening(tmp_path / "w1", **deployment.env)
        deployment.workers.append(worker)
        wait_unready_for(worker, "held no partition", timeout=60)
        assert metric(worker, "otp_kafka_partitions_assigned") == 0
        other.close()
        wait_readiness(worker, 200, timeout=60)
        assert metric(worker, "otp_kafka_partitions_assigned") > 0
        assert metric(worker, "otp_kafka_seconds_since_last_record") > 0
    finally:
        deployment.stop()


@pytest.mark.mongo
def test_an_empty_template_store_is_unready_and_serve_warns_at_start(tmp_path: Path) -> None:
    """A template store in MongoDB may be filled after the start (otp templates import), so
    serve starts, warns and stays unready; an empty template folder is refused at start
    (tests/unit/test_config_check.py)."""
    service = listening(
        tmp_path / "w1",
        MONGODB_URI=mongo_uri(),
        MONGODB_DATABASE=f"empty_{uuid.uuid4().hex[:10]}",
        TEMPLATE_STORE="mongo",
        OTP_HASH_KEY="5e" * 32,
        DELIVERY="outbox",
    )
    try:
        assert "holds no template" in wait_readiness(service, 503)
        assert "templates.none" in service.logs()
        answer = httpx.get(f"{service.base_url}/readyz", timeout=3).json()
        assert answer["configuration"]["templates"] == "mongo"
    finally:
        service.stop()


def listening(workdir: Path, **env: str) -> RunningService:
    """``otp serve`` once it answers HTTP, ready or not."""
    workdir.mkdir(exist_ok=True)
    service = launch_service(workdir, **env)
    deadline = time.monotonic() + 30
    while readiness(service)[0] == 0:
        assert service.process.poll() is None, service.logs()[-3000:]
        assert time.monotonic() < deadline, "otp serve did not listen"
        time.sleep(0.1)
    return service
