"""The fault-injection suite: each fault under 1,000 generate requests, every delivered code
validated afterwards. Run alone with `make faults`; figures in var/faults-last.json."""

from __future__ import annotations

import json
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningService
from tests.e2e.deployment import Deployment
from tests.faults.load import (
    REQUESTS,
    Figures,
    Record,
    answered_past_commit,
    collect_replies,
    kill_server,
    measure,
    ready,
    replies_for,
    requests,
    start_servers,
    validate_codes,
    wait_assigned,
    wait_handled,
)
from tests.integration.kafka import produce
from tests.outbox import code_in
from tests.smtp_server import MailServer, start_mail_server

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.kafka, pytest.mark.mongo]

OUTAGE_SECONDS = 20


@pytest.fixture
def servers_back() -> Iterator[None]:
    """Whatever a fault left down is started again, for the tests that follow."""
    yield
    start_servers()


def report(figures: Figures, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\n" + figures.line())
    figures.save()
    figures.check()


def under_load(
    name: str,
    deployment: Deployment,
    workers: list[RunningService],
    fault: Callable[[], None],
    capsys: pytest.CaptureFixture[str],
    extra: list[Record] | None = None,
) -> Figures:
    started = time.monotonic()
    load = requests()
    if extra:
        # Spread the extra records through the load.
        step = max(1, len(load) // (len(extra) + 1))
        for i, record in enumerate(extra):
            load.insert((i + 1) * step + i, record)
    produce(deployment.topics.generate_in, load)
    fault()
    replies = collect_replies(deployment, range(REQUESTS))
    figures = measure(name, deployment, replies, deployment.mails(), workers, started)
    report(figures, capsys)
    return figures


def test_kill_9_of_the_worker(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    workers = [deployment.start("w1")]
    wait_assigned(*workers)

    recent: list[int] = []

    def crash() -> None:
        wait_handled(workers[0], 300)
        workers[0].process.kill()
        workers[0].process.wait()
        # Offsets are committed every 0.5 s: a crash replays what was answered past the last
        # commit, and nothing before it. The bound is read from the group's committed offsets
        # (what the worker answered in its last second undercounted them by one on CI: a
        # partition commits only up to its oldest record still in flight), plus the records
        # in flight, whose reply may be out before their log line.
        in_flight = int(deployment.env["KAFKA_MAX_IN_FLIGHT"])
        recent.append(answered_past_commit(deployment, workers[0]) + in_flight)
        workers.append(deployment.start("w1-restarted"))

    figures = under_load("kill -9 of the worker", deployment, workers, crash, capsys)
    with capsys.disabled():
        print(f"answered past the committed offsets at the kill, plus in flight: {recent[0]}")
    assert recent[0] < 1000  # the commits went on: not everything lay past them
    assert figures.duplicate_replies <= recent[0], (figures.line(), recent)


@pytest.mark.parametrize("server", ["kafka", "mongo"])
def test_kill_9_of_a_server_for_20_s(
    server: str, deployment: Deployment, servers_back: None, capsys: pytest.CaptureFixture[str]
) -> None:
    workers = [deployment.start("w1")]
    wait_assigned(*workers)

    def outage() -> None:
        wait_handled(workers[0], 200)
        kill_server(server)
        time.sleep(OUTAGE_SECONDS)
        start_servers()

    under_load(f"kill -9 of {server} for 20 s", deployment, workers, outage, capsys)
    assert workers[0].process.poll() is None, "the worker died in the outage"
    assert workers[0].stop() == 0


def mails_in(server: MailServer) -> dict[str, list[str]]:
    received: dict[str, list[str]] = {}
    for message in server.inbox.messages:
        text = message.get_body(("plain",))
        assert text is not None
        received.setdefault(str(message["To"]), []).append(code_in(str(text.get_content())))
    return received


def with_mail_server(
    deployment: Deployment, tls: tuple[Path, ssl.SSLContext], **env: str
) -> tuple[MailServer, list[RunningService]]:
    """A plain SMTP server for the deployment, and one worker sending through it."""
    mail = start_mail_server(tls, "none")
    deployment.env.update({**mail.env(), **env})
    workers = [deployment.start("w1")]
    wait_assigned(*workers)
    return mail, workers


def mail_outage(mail: MailServer, tls: tuple[Path, ssl.SSLContext]) -> MailServer:
    """The SMTP server down for OUTAGE_SECONDS, then back on its port with its inbox."""
    mail.controller.stop()
    time.sleep(OUTAGE_SECONDS)
    return start_mail_server(tls, "none", inbox=mail.inbox, port=mail.port)


def test_the_smtp_server_down_for_20_s(
    deployment: Deployment,
    certificate_authority: tuple[Path, ssl.SSLContext],
    capsys: pytest.CaptureFixture[str],
) -> None:
    mail, workers = with_mail_server(deployment, certificate_authority)
    started = time.monotonic()
    produce(deployment.topics.generate_in, requests())
    wait_handled(workers[0], 200)
    back = mail_outage(mail, certificate_authority)
    try:
        replies = collect_replies(deployment, range(REQUESTS))
        figures = measure("SMTP down for 20 s", deployment, replies, mails_in(mail), workers,
                          started)  # fmt: skip
        failed = sum(1 for r in replies if json.loads(r.value() or b"{}")["otpSent"] is False)
        figures.notes["delivery_failed_replies"] = failed
        report(figures, capsys)
    finally:
        back.controller.stop()


def assignment(worker: RunningService) -> int:
    """How many partitions the worker holds, from its last assignment log line."""
    held = 0
    for line in worker.logs().splitlines():
        if '"kafka.assigned"' in line:
            held = len(json.loads(line)["partitions"])
        elif '"kafka.revoked"' in line:
            held = 0
    return held


def test_a_fourth_worker_joins_and_one_leaves(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    workers = [deployment.start(f"w{n}") for n in (1, 2, 3)]
    wait_assigned(*workers)
    time.sleep(3)
    spread = sorted(assignment(w) for w in workers)

    def churn() -> None:
        wait_handled(workers[0], 100)
        workers.append(deployment.start("w4"))
        time.sleep(3)
        assert workers[0].stop(timeout=60) == 0

    figures = under_load("a 4th worker joins, one leaves", deployment, workers, churn, capsys)
    figures.notes["partitions_of_3_workers"] = spread
    figures.save()
    assert max(spread) - min(spread) <= 1, f"uneven assignment: {spread}"


def test_a_poison_corpus_mixed_into_the_load(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.env["KAFKA_MESSAGE_MAX_BYTES"] = "65536"
    workers = [deployment.start("w1")]
    wait_assigned(*workers)
    pid = [("processInstanceId", b"70000")]
    poison: list[Record] = [
        (b"p-deep", b"[" * 100_000 + b"]" * 100_000, []),
        (b"p-int", b'{"clientId": ' + b"9" * 5000 + b"}", pid),
        (b"p-nan", b'{"clientId": NaN}', pid),
        (b"p-utf8", b"\xff\xfe\x00", []),
        (b"p-big", b'{"x": "' + b"y" * 200_000 + b'"}', []),
        (b"p-types", b'{"templateName": 1, "channel": [], "clientId": {}}', pid),
        (b"p-h-nan", b'{"clientId": 1}', [("processInstanceId", b"NaN")]),
        (b"p-h-inf", b"{}", [("processInstanceId", b"1e999")]),
        (b"p-h-big", b"{}", [("processInstanceId", b"99999999999999999999")]),
        (b"p-array", b"[1, 2]", []),
    ] * 3
    figures = under_load(
        "poison records in the load", deployment, workers, lambda: None, capsys, poison
    )
    figures.notes["poison_records"] = len(poison)
    figures.save()
    assert figures.dead_letters >= 15, figures.line()
    assert workers[0].process.poll() is None
    assert workers[0].stop() == 0


def test_sigterm_during_a_database_outage_exits_0_within_the_grace_period(
    deployment: Deployment, servers_back: None, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.env["SHUTDOWN_GRACE_SECONDS"] = "5"
    workers = [deployment.start("w1")]
    wait_assigned(*workers)
    held: dict[str, float] = {}

    def outage_then_sigterm() -> None:
        wait_handled(workers[0], 200)
        kill_server("mongo")
        time.sleep(2)
        asked = time.monotonic()
        assert workers[0].stop(timeout=30) == 0
        held["exit_seconds"] = round(time.monotonic() - asked, 1)
        start_servers()
        workers.append(deployment.start("w2"))

    figures = under_load(
        "SIGTERM during a MongoDB outage", deployment, workers, outage_then_sigterm, capsys
    )
    figures.notes.update(held)
    figures.save()
    assert held["exit_seconds"] <= 5, figures.line()


def test_readyz_follows_the_broker_both_ways(
    deployment: Deployment, servers_back: None, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = deployment.start("w1")
    assert ready(worker)
    kill_server("kafka")
    killed = time.monotonic()
    while ready(worker):
        assert time.monotonic() - killed < 15, "readyz stayed 200 with the broker gone"
        time.sleep(0.2)
    to_503 = time.monotonic() - killed
    start_servers()
    back = time.monotonic()
    while not ready(worker):
        assert time.monotonic() - back < 15, "readyz stayed 503 with the broker back"
        time.sleep(0.2)
    to_200 = time.monotonic() - back
    with capsys.disabled():
        print(f"\n[readyz] 503 {to_503:.1f} s after kill -9 of the broker, "
              f"200 {to_200:.1f} s after it was back")  # fmt: skip
    assert to_503 <= 5 and to_200 <= 5
    assert worker.stop() == 0


def by_client(mail: MailServer, prefix: str = "f") -> dict[int, list[str]]:
    """Codes each client received, oldest first."""
    return {
        int(address.split("@")[0].removeprefix(prefix)): codes
        for address, codes in mails_in(mail).items()
    }


def test_the_smtp_server_down_then_the_engine_retries_each_failed_request_once(
    deployment: Deployment,
    certificate_authority: tuple[Path, ssl.SSLContext],
    capsys: pytest.CaptureFixture[str],
) -> None:
    mail, workers = with_mail_server(
        deployment, certificate_authority, OTP_RESEND_COOLDOWN_SECONDS="1"
    )
    started = time.monotonic()
    # The codes people hold before the outage.
    produce(deployment.topics.generate_in, requests())
    replies_for(deployment, deployment.topics.generate_out, set(range(REQUESTS)))
    held = {n: codes[-1] for n, codes in by_client(mail).items()}
    assert len(held) == REQUESTS
    time.sleep(1.5)
    # A second code for everyone, with the server down for 20 s in the middle.
    produce(deployment.topics.generate_in, requests(first_id=10_000))
    wait_handled(workers[0], REQUESTS + 200)
    back = mail_outage(mail, certificate_authority)
    try:
        second = replies_for(deployment, deployment.topics.generate_out,
                             {10_000 + n for n in range(REQUESTS)})  # fmt: skip
        failed = sorted(i - 10_000 for i, r in second.items() if r["otpSent"] is not True)
        codes = {r["errorCode"] for i, r in second.items() if r["otpSent"] is not True}
        # The code each of them already held still works...
        held_valid = validate_codes(deployment, {n: held[n] for n in failed}, 20_000)
        # ...and the engine's immediate retry of each failed request goes through.
        again = [r for n, r in enumerate(requests(first_id=30_000)) if n in set(failed)]
        produce(deployment.topics.generate_in, again)
        retried = replies_for(deployment, deployment.topics.generate_out,
                              {30_000 + n for n in failed})  # fmt: skip
        received = by_client(back)
        final = validate_codes(deployment, {n: c[-1] for n, c in received.items()}, 40_000)
    finally:
        back.controller.stop()
    figures = Figures("SMTP down for 20 s, failed requests retried once", REQUESTS)
    figures.replies = len(second)
    figures.unanswered = REQUESTS - len(second)
    figures.delivered_requests = len(received)
    figures.validated = len(final)
    figures.wrong_validations = sum(1 for ok in final.values() if not ok)
    figures.notes = {
        "failed_during_outage": len(failed),
        "failure_codes": sorted(c for c in codes if c),
        "held_codes_still_valid": f"{sum(held_valid.values())}/{len(held_valid)}",
        "retries_sent": sum(1 for r in retried.values() if r["otpSent"] is True),
        "retries_rate_limited": sum(
            1 for r in retried.values() if r["errorCode"] == "RATE_LIMITED"
        ),  # fmt: skip
        "codes_per_client": dict(sorted(Counter(len(set(c)) for c in received.values()).items())),
    }
    figures.seconds = time.monotonic() - started
    report(figures, capsys)
    assert failed, "the outage made no delivery fail: the fault was not injected"
    assert all(held_valid.values()), figures.line()
    assert figures.notes["retries_rate_limited"] == 0, figures.line()
    assert figures.notes["retries_sent"] == len(failed), figures.line()
    assert len(received) == REQUESTS and figures.wrong_validations == 0, figures.line()


def test_kill_9_between_delivery_and_reply_with_mongodb_down(
    deployment: Deployment, servers_back: None, capsys: pytest.CaptureFixture[str]
) -> None:
    count = 600
    workers = [deployment.start("w1")]
    wait_assigned(*workers)
    started = time.monotonic()
    produce(deployment.topics.generate_in, requests(count))
    wait_handled(workers[0], 150)
    # MongoDB goes: deliveries under way cannot be recorded; then the worker dies.
    kill_server("mongo")
    time.sleep(1.5)
    workers[0].process.kill()
    workers[0].process.wait()
    start_servers()
    workers.append(deployment.start("w2"))
    replies = collect_replies(deployment, range(count))
    mails = deployment.mails()
    figures = measure("kill -9 between delivery and reply, MongoDB down", deployment, replies,
                      mails, workers, started, expected=range(count))  # fmt: skip
    per_request = Counter(len(codes) for codes in mails.values())
    figures.notes = {
        "crashes": 1,
        "deliveries_per_request": dict(sorted(per_request.items())),
        "requests_delivered_twice": sum(1 for codes in mails.values() if len(codes) > 1),
    }
    report(figures, capsys)
    # Each request: at most one extra delivery per crash, always of the same code.
    assert max(per_request) <= 1 + figures.notes["crashes"], figures.line()
    assert figures.requests_with_two_codes == 0 and figures.delivered_requests == count
