"""One contract for every OTP repository: in memory, SQLite (embedded default) and MongoDB.

Each test runs once per store, through the real use cases, driven by the test clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.clock import ManualClock
from adapters.mongo.client import connect, ensure_indexes
from adapters.mongo.otp_repository import MongoOtpRepository
from adapters.repositories.memory import InMemoryOtpRepository
from adapters.repositories.sqlite import SqliteOtpRepository, open_sqlite
from application.ports import StaleLedger
from domain.channel import Channel
from domain.ledger import OtpLedger
from domain.otp import OtpState
from domain.policy import OtpPolicy
from entrypoints import dispatch
from tests.harness import Harness, wrong_code
from tests.integration.servers import fresh_database_name, mongo_uri

pytestmark = pytest.mark.integration

STORES = [
    pytest.param("memory"),
    pytest.param("sqlite"),
    pytest.param("mongo", marks=pytest.mark.mongo),
]


def store_harness(kind: str, tmp_path: Path, policy: OtpPolicy | None = None) -> Iterator[Harness]:
    # Real time, not the harness's fixed date: a MongoDB TTL monitor must not see the test's
    # documents as long expired.
    harness = Harness(policy=policy)
    harness.clock = ManualClock(datetime.now(UTC))
    if kind == "memory":
        harness.use_repository(InMemoryOtpRepository())
        yield harness
    elif kind == "sqlite":
        connection = harness.run(open_sqlite(tmp_path / "otp.sqlite3"))
        harness.use_repository(SqliteOtpRepository(connection))
        yield harness
        harness.run(connection.close())
    else:
        client = connect(mongo_uri())
        db = client[fresh_database_name()]
        harness.run(ensure_indexes(db))
        harness.use_repository(MongoOtpRepository(db))
        yield harness
        harness.run(client.drop_database(db.name))
        harness.run(client.close())
    harness.close()


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    yield from store_harness(request.param, tmp_path)


@pytest.fixture(params=STORES)
def store_without_cooldown(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    policy = OtpPolicy(resend_cooldown=timedelta(0), max_sends=100, max_delivery_attempts=100)
    yield from store_harness(request.param, tmp_path, policy)


def purge(harness: Harness) -> int:
    removed: int = harness.run(harness.repository.purge(harness.clock.now()))
    return removed


def fifty_generates(store: Harness) -> list[dict[str, object]]:
    """Fifty generate requests for one (clientId, channel), all at once."""
    request = {"templateName": "otp-sms", "channel": "SMS", "recipient": "+40722123456",
               "clientId": "c1"}  # fmt: skip

    async def fifty() -> list[dict[str, object]]:
        outcomes = await asyncio.gather(
            *(dispatch.generate(store.generate_use_case, request) for _ in range(50))
        )
        return [o.reply for o in outcomes]

    replies: list[dict[str, object]] = store.run(fifty())
    return replies


# ---------------------------------------------------------------- compare-and-set


def test_a_stale_save_is_refused(store: Harness) -> None:
    store.generate()
    first = store.run(store.repository.get("c1", Channel.SMS))
    second = store.run(store.repository.get("c1", Channel.SMS))
    store.run(store.repository.save(first))
    with pytest.raises(StaleLedger):
        store.run(store.repository.save(second))
    assert store.run(store.repository.get("c1", Channel.SMS)).version == first.version


def test_of_two_first_saves_of_one_ledger_only_one_wins(store: Harness) -> None:
    store.run(store.repository.save(OtpLedger(client_id="n", channel=Channel.MAIL)))
    with pytest.raises(StaleLedger):
        store.run(store.repository.save(OtpLedger(client_id="n", channel=Channel.MAIL)))


def test_each_save_moves_the_version_on_by_one(store: Harness) -> None:
    store.generate()
    store.advance(60)
    store.generate()
    ledger = store.run(store.repository.get("c1", Channel.SMS))
    assert ledger.version == 4  # each generate: the pending code, then its delivery
    assert store.run(store.repository.get("c1", Channel.MAIL)) is None


def test_thirty_concurrent_validations_of_one_code_accept_exactly_one(store: Harness) -> None:
    store.generate()
    body = {"clientId": "c1", "channel": "SMS", "otp": store.last_code()}

    async def thirty() -> list[dict[str, object]]:
        outcomes = await asyncio.gather(
            *(dispatch.validate(store.validate_use_case, body) for _ in range(30))
        )
        return [o.reply for o in outcomes]

    replies = store.run(thirty())
    assert sum(r["otpValid"] is True for r in replies) == 1
    assert {r["errorCode"] for r in replies if r["otpValid"] is not True} == {"OTP_NOT_FOUND"}


def test_concurrent_wrong_tries_are_each_counted(store: Harness) -> None:
    store.generate()
    body = {"clientId": "c1", "channel": "SMS", "otp": wrong_code(store.last_code())}

    async def eight() -> list[str]:
        outcomes = await asyncio.gather(
            *(dispatch.validate(store.validate_use_case, body) for _ in range(8))
        )
        return [str(o.reply["errorCode"]) for o in outcomes]

    codes = store.run(eight())
    # 5 attempts by default: 4 misses, the 5th burns the code, the rest find it burnt.
    assert (codes.count("OTP_MISMATCH"), codes.count("OTP_ATTEMPTS_EXCEEDED")) == (4, 4)
    ledger = store.run(store.repository.get("c1", Channel.SMS))
    assert (ledger.current.state, ledger.current.attempts_left) == (OtpState.BURNT, 0)


def test_fifty_concurrent_generates_during_the_cooldown_send_one_code(store: Harness) -> None:
    replies = fifty_generates(store)
    assert sum(r.get("otpSent") is True for r in replies) == 1
    assert {r["errorCode"] for r in replies if r.get("otpSent") is not True} == {"RATE_LIMITED"}
    assert len(store.sms.sent) == 1
    assert store.validate(store.last_code())["otpValid"] is True


def test_fifty_concurrent_generates_leave_exactly_one_live_code(
    store_without_cooldown: Harness,
) -> None:
    store = store_without_cooldown

    replies = fifty_generates(store)
    # Under contention a generate gives up after a few tries ("try again"); what matters is
    # that every code that went out was counted, and exactly one of them is live.
    sent = store.sent_codes()
    assert len(sent) == sum(r.get("otpSent") is True for r in replies) >= 1
    ledger = store.run(store.repository.get("c1", Channel.SMS))
    assert ledger.current.state is OtpState.ACTIVE
    assert len(ledger.sends) == len(sent)
    live = [
        code
        for code in sent
        if store.hasher.hash(code, client_id="c1", channel=Channel.SMS).matches(
            ledger.current.code_hash
        )
    ]
    assert len(live) == 1
    assert store.validate(live[0])["otpValid"] is True


# ---------------------------------------------------------------- expiry


def test_a_purge_keeps_a_ledger_whose_later_code_is_live(store: Harness) -> None:
    store.generate()
    store.advance(60)
    store.generate()
    live = store.last_code()
    store.advance(545)  # the first code's retention is over; the second lives until t0+660 s
    assert purge(store) == 0
    assert store.validate(live)["otpValid"] is True


def test_a_generate_after_a_purge_issues_a_code_that_alone_validates(store: Harness) -> None:
    store.generate()
    store.advance(60)
    store.generate()
    replaced = store.last_code()
    store.advance(545)
    purge(store)
    store.generate()
    new = store.last_code()
    assert store.validate(replaced)["otpValid"] is False
    assert store.validate(new)["otpValid"] is True


def test_a_ledger_past_its_retention_is_purged_and_starts_afresh(store: Harness) -> None:
    store.generate(clientId="old")
    old = store.last_code()
    store.advance(300)
    store.generate(clientId="new")
    store.advance(301)  # "old" is over (600 s), "new" is not
    assert purge(store) == 1
    assert store.run(store.repository.get("old", Channel.SMS)) is None
    assert store.run(store.repository.get("new", Channel.SMS)) is not None
    store.generate(clientId="old")
    assert store.validate(old, clientId="old")["otpValid"] is False
    assert store.validate(store.last_code(), clientId="old")["otpValid"] is True
    # A fresh ledger: two saves for the generate, then one per validation.
    assert store.run(store.repository.get("old", Channel.SMS)).version == 4


def test_a_send_that_still_counts_keeps_its_ledger_after_the_code_is_used(store: Harness) -> None:
    short = OtpPolicy(ttl=timedelta(seconds=60), max_sends=1, send_window=timedelta(minutes=10))
    store.policy = short
    store.use_repository(store.repository)
    store.generate()
    assert store.validate(store.last_code())["otpValid"] is True
    store.advance(120)  # the code is over, the send still counts for 8 more minutes
    assert purge(store) == 0
    assert store.generate()["errorCode"] == "RATE_LIMITED"


# ---------------------------------------------------------------- delivery


def test_a_failed_delivery_keeps_the_held_code_valid_and_the_retry_goes_at_once(
    store: Harness,
) -> None:
    store.generate()
    held = store.last_code()
    store.advance(60)
    store.sms.fail_with = "SMTP 451 try later"
    assert store.generate()["errorCode"] == "DELIVERY_FAILED"
    ledger = store.run(store.repository.get("c1", Channel.SMS))
    assert (len(ledger.sends), len(ledger.failures), ledger.pending) == (1, 1, [])
    store.sms.fail_with = None
    retried = store.generate()
    assert retried["otpSent"] is True, "the engine's immediate retry is not rate-limited"
    assert store.validate(held)["otpValid"] is False, "replaced once the new one arrived"
    assert store.validate(store.last_code())["otpValid"] is True


def test_a_code_held_before_a_failed_delivery_still_validates(store: Harness) -> None:
    store.generate()
    held = store.last_code()
    store.advance(60)
    store.sms.fail_with = "provider down"
    assert store.generate()["errorCode"] == "DELIVERY_FAILED"
    assert store.validate(held)["otpValid"] is True


def test_a_repeated_request_sends_nothing_once_its_delivery_is_recorded(store: Harness) -> None:
    body = {"templateName": "otp-sms", "channel": "SMS", "recipient": "+40722123456",
            "clientId": "c1"}  # fmt: skip
    first = store.run(dispatch.generate(store.generate_use_case, body, None, "request-1"))
    again = store.run(dispatch.generate(store.generate_use_case, body, None, "request-1"))
    assert first.reply == again.reply and again.reply["otpSent"] is True
    assert len(store.sms.sent) == 1
