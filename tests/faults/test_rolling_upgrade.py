"""A rolling upgrade as a Kubernetes Deployment does it (maxSurge 1, maxUnavailable 0): under
1,500 generates at 25 a second, each of three workers is replaced in turn: a new process is
started and is ready (and holds partitions), then the old one gets SIGTERM and must exit 0
within the chart's grace period.
Nothing may be unanswered or answered twice, no code sent twice; the longest time with no reply
at all is recorded (docs/deploy.md gives it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningService
from tests.e2e.deployment import Deployment
from tests.faults.cluster import Engine, after, run_under_fault
from tests.faults.load import wait_assigned
from tests.faults.test_faults import report

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.kafka, pytest.mark.mongo]

REPLICAS = 3
UPGRADE_AT = 250  # 10 s into the load
GRACE_SECONDS = 40  # the chart's terminationGracePeriodSeconds
SETTLE_SECONDS = 3  # between two replacements: the controller seeing the new pod available
# The longest time with no reply at all that the test accepts: a rebalance on one broker took
# about a second in every run (docs/deploy.md); ten means a worker left its partitions
# unanswered, which is what a bad shutdown looks like.
GAP_BOUND = 10.0


@pytest.fixture
def upgraded(tmp_path: Path) -> Iterator[Deployment]:
    """A deployment with the service's default limits: the engine is one caller, and a rolling
    upgrade must not turn its requests away."""
    deployment = Deployment(tmp_path)
    for variable in ("LIMIT_RECIPIENT_MAX_SENDS", "LIMIT_SMS_COUNTRY_MAX_SENDS",
                     "LIMIT_CALLER_MAX_SENDS", "KAFKA_MAX_IN_FLIGHT"):  # fmt: skip
        deployment.env.pop(variable)
    yield deployment
    deployment.stop()


def test_a_rolling_upgrade_of_three_workers_under_load(
    upgraded: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    old = [upgraded.start(f"v1-{n}") for n in range(REPLICAS)]
    wait_assigned(*old)
    new: list[RunningService] = []
    everyone = [*old]  # whose dead letters count, the new workers as they start
    steps: list[dict[str, float | int]] = []

    def roll(engine: Engine) -> None:
        after(engine, UPGRADE_AT)
        for n, leaving in enumerate(old):
            began = time.monotonic()
            new.append(upgraded.start(f"v2-{n}"))  # returns once /readyz answers 200
            everyone.append(new[-1])
            wait_assigned(new[-1], timeout=60)
            ready = time.monotonic()
            code = leaving.stop(timeout=GRACE_SECONDS)
            steps.append(
                {
                    "start_to_assigned_s": round(ready - began, 2),
                    "sigterm_to_exit_s": round(time.monotonic() - ready, 2),
                    "exit_code": code,
                }
            )
            time.sleep(SETTLE_SECONDS)

    figures = run_under_fault("rolling upgrade of 3 workers", upgraded, everyone, roll)
    figures.notes["steps"] = steps
    report(figures, capsys)
    assert [step["exit_code"] for step in steps] == [0] * REPLICAS, steps
    assert figures.duplicate_replies == 0, figures.line()
    assert figures.extra_deliveries == 0, figures.line()
    assert figures.notes["rate_limited"] == 0, figures.line()
    assert figures.notes["longest_reply_gap_s"] <= GAP_BOUND, figures.line()
    for worker in new:
        assert worker.process.poll() is None, f"a new worker died:\n{worker.logs()[-3000:]}"
