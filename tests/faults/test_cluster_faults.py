"""A bank's cluster: three KRaft nodes, replication factor 3, min.insync.replicas 2. Under 1,500
generates at 25 a second with the service's default limits, a node is killed (kill -9) and
restarted after 20 s, or left down. Each fault costs no more than Kafka's own failover: nothing
unanswered, no duplicate reply, no extra delivery, and the longest time with no reply at all
within 3 s of the longest time the engine's producer waited for an acknowledgement.

The runs marked ``long`` (the protocol comparison of docs/decisions.md) run in `make faults`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningService
from tests.e2e.deployment import Deployment
from tests.faults.cluster import (
    RESTART_AFTER,
    Engine,
    Nodes,
    after,
    cluster_bootstrap,
    cluster_deployment,
    node_of_coordinator,
    node_of_leader,
    nodes,
    run_under_fault,
    start_cluster,
    stop_cluster,
)
from tests.faults.load import Figures, wait_assigned
from tests.faults.test_faults import report

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.kafka, pytest.mark.mongo]

# The fault comes once the load is under way (10 s of it).
FAULT_AT = 250
GAP_ALLOWANCE = 3.0
# A request's own wait past Kafka's failover. Measured on 2026-12-03 on a loaded machine, the
# code of 2026-11-30 as well: one partition's requests may wait 22-41 s after a coordinator
# kill while the others flow (reply gaps stay within the failover + 3 s); not yet understood,
# see docs/reliability.md. The bound is the group's session timeout: a wait past it means a
# partition changed hands (the lost session this test was written against).
WAIT_ALLOWANCE = 45.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The cluster for this module's runs, stopped afterwards: its three JVMs would otherwise
    share the two cores with the rest of the suite."""
    start_cluster()
    yield cluster_bootstrap()
    stop_cluster()


@pytest.fixture
def node_keeper() -> Iterator[Nodes]:
    yield from nodes()


def deploy(tmp_path: Path, cluster: str, protocol: str | None = None) -> Deployment:
    extra = {"KAFKA_GROUP_PROTOCOL": protocol} if protocol else {}
    return cluster_deployment(tmp_path, cluster, **extra)


def check(figures: Figures) -> None:
    """What every cluster fault must hold, beyond the single-node suite's own checks."""
    notes = figures.notes
    assert figures.duplicate_replies == 0, figures.line()
    assert figures.extra_deliveries == 0, figures.line()
    assert notes["rate_limited"] == 0, figures.line()
    assert notes["longest_reply_gap_s"] <= notes["kafka_stall_s"] + GAP_ALLOWANCE, figures.line()
    # No request waits past a session timeout either: a lost session (the old 10 s timeout,
    # two workers) held some for 21.6 s while the other worker kept replying.
    assert notes["longest_request_to_reply_s"] <= notes["kafka_stall_s"] + WAIT_ALLOWANCE, (
        figures.line()
    )


def kill_and_restart(
    keeper: Nodes, which: Callable[[], int], keep_down: bool = False
) -> Callable[[Engine], None]:
    def fault(engine: Engine) -> None:
        after(engine, FAULT_AT)
        node = which()
        keeper.kill(node)
        if not keep_down:
            time.sleep(RESTART_AFTER)
            keeper.restore()

    return fault


def one_run(
    name: str,
    tmp_path: Path,
    cluster: str,
    capsys: pytest.CaptureFixture[str],
    fault: Callable[[Deployment], Callable[[Engine], None]],
    protocol: str | None = None,
    workers: int = 1,
) -> Figures:
    deployment = deploy(tmp_path, cluster, protocol)
    try:
        running = [deployment.start(f"w{n}") for n in range(workers)]
        wait_assigned(*running)
        figures = run_under_fault(name, deployment, running, fault(deployment))
        figures.notes["group_protocol"] = protocol or "default"
        report(figures, capsys)
        for worker in running:
            assert worker.process.poll() is None, f"a worker died:\n{worker.logs()[-3000:]}"
        return figures
    finally:
        deployment.stop()


def test_kill_9_of_the_group_coordinator(
    tmp_path: Path, cluster: str, node_keeper: Nodes, capsys: pytest.CaptureFixture[str]
) -> None:
    def fault(deployment: Deployment) -> Callable[[Engine], None]:
        group = deployment.env["KAFKA_CONSUMER_GROUP_ID"]
        return kill_and_restart(node_keeper, lambda: node_of_coordinator(cluster, group))

    check(one_run("cluster: kill -9 of the group coordinator", tmp_path, cluster, capsys, fault))


def test_kill_9_of_the_generate_in_partition_leader(
    tmp_path: Path, cluster: str, node_keeper: Nodes, capsys: pytest.CaptureFixture[str]
) -> None:
    def fault(deployment: Deployment) -> Callable[[Engine], None]:
        topic = deployment.topics.generate_in
        return kill_and_restart(node_keeper, lambda: node_of_leader(cluster, topic))

    check(one_run("cluster: kill -9 of the generate-in leader", tmp_path, cluster, capsys, fault))


@pytest.mark.long
def test_kill_9_of_the_reply_topic_leader(
    tmp_path: Path, cluster: str, node_keeper: Nodes, capsys: pytest.CaptureFixture[str]
) -> None:
    def fault(deployment: Deployment) -> Callable[[Engine], None]:
        topic = deployment.topics.generate_out
        return kill_and_restart(node_keeper, lambda: node_of_leader(cluster, topic))

    check(one_run("cluster: kill -9 of the reply leader", tmp_path, cluster, capsys, fault))


@pytest.mark.long
def test_one_node_left_down(
    tmp_path: Path, cluster: str, node_keeper: Nodes, capsys: pytest.CaptureFixture[str]
) -> None:
    def fault(deployment: Deployment) -> Callable[[Engine], None]:
        topic = deployment.topics.generate_in
        return kill_and_restart(node_keeper, lambda: node_of_leader(cluster, topic), True)

    check(one_run("cluster: one node left down", tmp_path, cluster, capsys, fault))


@pytest.mark.long
@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_protocols_under_a_coordinator_crash(
    protocol: str,
    tmp_path: Path,
    cluster: str,
    node_keeper: Nodes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Two workers share the partitions: a lost session would move them.
    def fault(deployment: Deployment) -> Callable[[Engine], None]:
        group = deployment.env["KAFKA_CONSUMER_GROUP_ID"]
        return kill_and_restart(node_keeper, lambda: node_of_coordinator(cluster, group))

    name = f"cluster: coordinator crash, 2 workers, {protocol} protocol"
    check(one_run(name, tmp_path, cluster, capsys, fault, protocol, workers=2))


@pytest.mark.long
@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_protocols_when_a_worker_joins_and_leaves(
    protocol: str, tmp_path: Path, cluster: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A third worker joins under load, then leaves with SIGTERM (a rolling deployment)."""
    joined: list[RunningService] = []

    def fault(deployment: Deployment) -> Callable[[Engine], None]:
        def join_then_leave(engine: Engine) -> None:
            after(engine, FAULT_AT)
            joined.append(deployment.start("w-joining"))
            after(engine, FAULT_AT + 500)
            assert joined[0].stop() == 0

        return join_then_leave

    name = f"cluster: a worker joins and leaves, {protocol} protocol"
    figures = one_run(name, tmp_path, cluster, capsys, fault, protocol, workers=2)
    assert figures.unanswered == 0
    assert figures.duplicate_replies == 0, figures.line()
