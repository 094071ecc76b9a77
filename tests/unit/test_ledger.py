"""One live code per (clientId, channel), the resend cooldown and the send cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.channel import Channel
from domain.errors import RateLimited
from domain.ledger import Issuance, OtpLedger
from domain.otp import CodeHash, OneTimePassword, OtpState
from domain.policy import OtpPolicy

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
POLICY = OtpPolicy(
    resend_cooldown=timedelta(seconds=30), max_sends=3, send_window=timedelta(minutes=10)
)


def code(n: int, at: datetime) -> OneTimePassword:
    return OneTimePassword(
        id=f"o{n}",
        client_id="c1",
        channel=Channel.MAIL,
        code_hash=CodeHash("k", f"{n:064x}"),
        issued_at=at,
        expires_at=at + POLICY.ttl,
        attempts_left=5,
    )


def test_a_new_code_replaces_the_live_one() -> None:
    ledger = OtpLedger(client_id="c1", channel=Channel.MAIL)
    first = code(1, NOW)
    ledger.issue(first, POLICY, NOW)
    ledger.issue(code(2, NOW + timedelta(seconds=31)), POLICY, NOW + timedelta(seconds=31))
    assert first.state is OtpState.REPLACED
    assert ledger.current is not None and ledger.current.id == "o2"


def test_a_resend_inside_the_cooldown_is_refused_with_the_wait() -> None:
    ledger = OtpLedger(client_id="c1", channel=Channel.MAIL)
    ledger.issue(code(1, NOW), POLICY, NOW)
    with pytest.raises(RateLimited) as refused:
        ledger.issue(code(2, NOW), POLICY, NOW + timedelta(seconds=10))
    assert refused.value.retry_after_seconds == 20
    assert ledger.current is not None and ledger.current.id == "o1"


def test_the_send_cap_counts_sends_inside_the_window_only() -> None:
    ledger = OtpLedger(client_id="c1", channel=Channel.MAIL)
    moments = [NOW + timedelta(minutes=m) for m in (0, 1, 2)]
    for n, at in enumerate(moments):
        ledger.issue(code(n, at), POLICY, at)
    with pytest.raises(RateLimited) as refused:
        ledger.issue(code(9, NOW), POLICY, NOW + timedelta(minutes=3))
    assert refused.value.retry_after_seconds == 7 * 60
    later = NOW + timedelta(minutes=10)
    ledger.issue(code(10, later), POLICY, later)
    assert len(ledger.sends) == 3


def test_the_ledger_is_retained_while_a_send_still_counts() -> None:
    ledger = OtpLedger(client_id="c1", channel=Channel.MAIL)
    ledger.issue(code(1, NOW), POLICY, NOW)
    assert ledger.retain_until == NOW + max(POLICY.ttl, POLICY.send_window)


def test_a_pending_code_goes_live_only_when_its_delivery_is_confirmed() -> None:
    ledger = OtpLedger(client_id="c1", channel=Channel.MAIL)
    ledger.issue(code(1, NOW), POLICY, NOW)
    later = NOW + timedelta(seconds=40)
    assert ledger.begin(code(2, later), POLICY, later) is Issuance.SEND
    assert ledger.current is not None and ledger.current.id == "o1"
    assert ledger.current.state is OtpState.ACTIVE and len(ledger.sends) == 1
    assert ledger.confirm("o2", POLICY, later)
    assert ledger.current.id == "o2" and len(ledger.sends) == 2
    assert not ledger.confirm("o2", POLICY, later)


def test_a_failed_delivery_keeps_the_live_code_and_starts_no_cooldown() -> None:
    ledger = OtpLedger(client_id="c1", channel=Channel.MAIL)
    ledger.issue(code(1, NOW), POLICY, NOW)
    later = NOW + timedelta(seconds=40)
    ledger.begin(code(2, later), POLICY, later)
    assert ledger.fail("o2", POLICY, later)
    assert ledger.current is not None and ledger.current.id == "o1"
    assert ledger.current.state is OtpState.ACTIVE
    assert ledger.begin(code(3, later), POLICY, later) is Issuance.SEND  # at once


def test_failed_deliveries_count_against_the_attempt_budget() -> None:
    policy = OtpPolicy(max_delivery_attempts=4, resend_cooldown=timedelta(0))
    ledger = OtpLedger(client_id="c1", channel=Channel.MAIL)
    for n in range(4):
        ledger.begin(code(n, NOW), policy, NOW)
        ledger.fail(f"o{n}", policy, NOW)
    with pytest.raises(RateLimited, match="delivery attempts") as refused:
        ledger.begin(code(9, NOW), policy, NOW + timedelta(minutes=1))
    assert refused.value.retry_after_seconds == 9 * 60
    assert ledger.begin(code(10, NOW), policy, NOW + timedelta(minutes=10)) is Issuance.SEND


def test_the_same_code_again_is_resent_while_pending_and_never_once_delivered() -> None:
    ledger = OtpLedger(client_id="c1", channel=Channel.MAIL)
    assert ledger.begin(code(1, NOW), POLICY, NOW) is Issuance.SEND
    assert ledger.begin(code(1, NOW), POLICY, NOW) is Issuance.RESEND
    ledger.confirm("o1", POLICY, NOW)
    assert ledger.begin(code(1, NOW), POLICY, NOW) is Issuance.DELIVERED
    later = NOW + timedelta(minutes=1)
    ledger.issue(code(2, later), POLICY, later)
    assert ledger.begin(code(1, NOW), POLICY, later) is Issuance.DELIVERED  # replaced: never again


def test_a_pending_delivery_counts_against_the_cooldown_until_it_expires() -> None:
    ledger = OtpLedger(client_id="c1", channel=Channel.MAIL)
    ledger.begin(code(1, NOW), POLICY, NOW)
    with pytest.raises(RateLimited):
        ledger.begin(code(2, NOW), POLICY, NOW + timedelta(seconds=5))
    expired = NOW + POLICY.ttl + timedelta(seconds=1)
    assert ledger.begin(code(3, expired), POLICY, expired) is Issuance.SEND
    assert [p.id for p in ledger.pending] == ["o3"]
