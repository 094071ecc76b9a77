"""What no record and no outage may do to the worker: stop it, or leave a request unanswered."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import structlog
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from application.ports import OtpRepository
from domain.channel import Channel
from domain.errors import DependencyUnavailable, InternalError
from domain.ledger import OtpLedger
from tests.harness import Harness
from tests.integration.kafka import Topics, body, bootstrap, fresh_topics, produce, read
from tests.kafka_rig import WorkerRig

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def generate(client_id: str, **extra: Any) -> bytes:
    request = {"templateName": "otp-sms", "channel": "SMS", "recipient": "+40722123456"}
    return json.dumps({**request, "clientId": client_id, **extra}).encode()


def strict_json(record: Message) -> dict[str, Any]:
    """The reply parsed as the engine's strict JSON parser would: no NaN, no Infinity."""

    def refuse(name: str) -> None:
        raise AssertionError(f"the reply holds {name}")

    value = record.value()
    assert value is not None
    parsed: dict[str, Any] = json.loads(value, parse_constant=refuse)
    return parsed


def header(record: Message, name: str) -> bytes:
    raw = record.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    for key, value in pairs:
        if key == name:
            return value if isinstance(value, bytes) else str(value).encode()
    raise AssertionError(f"no {name} header")


class FlakyRepository:
    """Wraps a repository: refuses saves for some clients for good, or is down for a while."""

    def __init__(self, inner: OtpRepository) -> None:
        self.inner = inner
        self.refuse: set[str] = set()
        self.down = False

    async def get(self, client_id: str, channel: Channel) -> OtpLedger | None:
        if self.down:
            raise DependencyUnavailable("The OTP store is unavailable: test outage.")
        return await self.inner.get(client_id, channel)

    async def save(self, ledger: OtpLedger) -> None:
        if self.down:
            raise DependencyUnavailable("The OTP store is unavailable: test outage.")
        if ledger.client_id in self.refuse:
            raise InternalError("The OTP store refused the operation: WriteError.")
        await self.inner.save(ledger)

    async def purge(self, now: Any) -> int:
        return await self.inner.purge(now)

    async def ping(self) -> None:
        return None


@pytest.fixture
def flaky(harness: Harness) -> FlakyRepository:
    repository = FlakyRepository(harness.repository)
    harness.use_repository(repository)
    return repository


def test_a_poison_corpus_is_dead_lettered_or_answered_and_consumption_goes_on(
    harness: Harness,
) -> None:
    rig = WorkerRig(harness, fresh_topics(), group="otp-poison", max_bytes=300_000)
    pid = [("processInstanceId", b"7")]
    records: list[Record] = [
        (b"deep", b"[" * 100_000 + b"]" * 100_000, pid),
        (b"deep-object", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, pid),
        (b"huge-int", b'{"clientId": ' + b"9" * 5000 + b"}", pid),
        (b"nan-body", b'{"clientId": NaN, "channel": "SMS"}', pid),
        (b"inf-body", b'{"clientId": 1e999}', pid),
        (b"bad-utf8", b'{"clientId": "\xed\xa0\x80"}', pid),
        (b"oversized", b'{"pad": "' + b"x" * 400_000 + b'"}', pid),
        (b"wrong-types", b'{"templateName": [], "channel": 5, "clientId": {"a": 1}}', pid),
        (b"no-header", b"\xff\xfe", []),
        (b"nan-header", generate("h1"), [("processInstanceId", b"NaN")]),
        (b"inf-header", generate("h2"), [("processInstanceId", b"1e999")]),
        (b"big-header", generate("h3"), [("processInstanceId", b"99999999999999999999")]),
        (b"good", generate("after-the-poison"), pid),
    ]
    with_header = [key for key, _, headers in records if headers]

    async def scenario() -> tuple[list[Message], list[Message]]:
        await asyncio.to_thread(produce, rig.topics.generate_in, records)
        replies = await asyncio.to_thread(
            read, [rig.topics.generate_out], len(with_header), timeout=90
        )
        dead = await asyncio.to_thread(read, [rig.topics.dead_letter], 8, timeout=30)
        return replies, dead

    replies, dead = rig.run(scenario)
    by_key = {r.key() or b"": strict_json(r) for r in replies}
    assert sorted(by_key) == sorted(key or b"" for key in with_header)
    assert by_key[b"good"]["otpSent"] is True
    for key in (b"deep", b"deep-object", b"huge-int", b"nan-body", b"inf-body", b"bad-utf8",
                b"oversized", b"wrong-types"):  # fmt: skip
        assert by_key[key]["errorCode"] == "INVALID_REQUEST", key
    assert by_key[b"nan-header"]["processInstanceId"] == "NaN"
    assert by_key[b"inf-header"]["processInstanceId"] == "1e999"
    assert by_key[b"big-header"]["processInstanceId"] == "99999999999999999999"
    # Unreadable records are kept for a person to look at; a readable request with wrong
    # fields is an ordinary INVALID_REQUEST answer.
    assert sorted(r.key() or b"" for r in dead) == sorted(
        [b"deep", b"deep-object", b"huge-int", b"nan-body", b"inf-body", b"bad-utf8",
         b"oversized", b"no-header"]
    )  # fmt: skip
    oversized = next(r for r in dead if r.key() == b"oversized")
    assert int(header(oversized, "dlq-truncated")) > 400_000
    assert len(oversized.value() or b"") < 300_000


def test_a_write_the_store_refuses_is_dead_lettered_with_an_internal_error_reply(
    harness: Harness, flaky: FlakyRepository
) -> None:
    flaky.refuse.add("refused")
    rig = WorkerRig(harness, fresh_topics(), group="otp-refused")
    pid = [("processInstanceId", b"41")]

    async def scenario() -> tuple[list[Message], list[Message]]:
        await asyncio.to_thread(
            produce,
            rig.topics.generate_in,
            [(b"bad", generate("refused"), pid), (b"ok", generate("accepted"), pid)],
        )
        replies = await asyncio.to_thread(read, [rig.topics.generate_out], 2, timeout=60)
        dead = await asyncio.to_thread(read, [rig.topics.dead_letter], 1, timeout=30)
        return replies, dead

    replies, dead = rig.run(scenario)
    by_key = {r.key(): body(r) for r in replies}
    assert by_key[b"bad"]["errorCode"] == "INTERNAL_ERROR"
    assert by_key[b"bad"]["processInstanceId"] == 41
    assert by_key[b"ok"]["otpSent"] is True
    (letter,) = dead
    assert letter.key() == b"bad"
    assert b"refused" in header(letter, "dlq-reason")


def test_a_store_outage_is_waited_out_paused_and_logged_once(
    harness: Harness, flaky: FlakyRepository
) -> None:
    rig = WorkerRig(harness, fresh_topics(), group="otp-outage")
    rig.settings = rig.settings.model_copy(update={"max_in_flight": 4})
    flaky.down = True
    records: list[Record] = [
        (f"k{n}".encode(), generate(f"c{n}"), [("processInstanceId", str(n).encode())])
        for n in range(20)
    ]

    async def scenario() -> tuple[int, list[Message]]:
        await asyncio.to_thread(produce, rig.topics.generate_in, records)
        await asyncio.sleep(4)
        sent_while_down = len(harness.sms.sent)
        flaky.down = False
        after = await asyncio.to_thread(read, [rig.topics.generate_out], 20, timeout=60)
        return sent_while_down, after

    with structlog.testing.capture_logs() as logs:
        sent_while_down, after = rig.run(scenario)
    assert sent_while_down == 0
    assert sorted(body(r)["processInstanceId"] for r in after) == list(range(20))
    assert all(body(r)["otpSent"] for r in after)
    events = [e["event"] for e in logs]
    assert "kafka.paused" in events and "kafka.resumed" in events
    # 4 records waited about 4 s with backoff: dozens of retries, one line per 10 s.
    assert events.count("dependency.waiting") == 1


def test_a_topic_created_a_minute_after_start_is_answered_within_seconds(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    topics = fresh_topics()
    late = Topics(
        generate_in=topics.generate_in + ".late",
        generate_out=topics.generate_out,
        validate_in=topics.validate_in,
        validate_out=topics.validate_out,
        dead_letter=topics.dead_letter,
    )
    rig = WorkerRig(harness, late, group="otp-late-topic")

    async def scenario() -> float:
        await asyncio.sleep(60)
        admin = AdminClient({"bootstrap.servers": bootstrap()})
        (created,) = admin.create_topics([NewTopic(late.generate_in, 2, 1)]).values()
        await asyncio.to_thread(created.result, 30)
        sent = time.monotonic()
        await asyncio.to_thread(produce, late.generate_in, [(b"k", generate("late"), [])])
        await asyncio.to_thread(read, [late.generate_out], 1, timeout=60)
        return time.monotonic() - sent

    waited = rig.run(scenario)
    with capsys.disabled():
        print(f"\n[late topic] created 60 s after start, first record answered in {waited:.1f} s")
    assert waited < 15
