"""SMS over SMPP under the SMSC's faults: 200 codes a fault through the chain SMPP (the real
SMSC of scripts/services) then a Twilio-compatible API (the local one), counting every SMS
both received. Each fault: no message lost (every send ends delivered or failed), at most one
extra SMS per message. Figures printed and saved to var/faults-smpp-last.json."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import attrs
import httpx
import pytest
from prometheus_client import CollectorRegistry

from adapters.channels.failover import FailoverChannel, Provider, RetryPolicy
from adapters.channels.receipts import DeliveryReceipts
from adapters.channels.resend import ResendingChannel
from adapters.channels.smpp import smpp_provider
from application.ports import NotificationChannel
from tests.integration.test_smpp_delivery import note
from tests.sms_server import SmsProviders
from tests.smsc import Smsc
from tests.smtp_server import free_port

pytestmark = [
    pytest.mark.faults,
    pytest.mark.integration,
    pytest.mark.smsc,
    pytest.mark.sms_provider,
]

COUNT = 200
RETRY = RetryPolicy(attempts=3, wait_initial=0.05, wait_max=0.2, timeout=20)
FIGURES = Path(__file__).resolve().parents[2] / "var" / "faults-smpp-last.json"


@attrs.frozen
class SmppFigures:
    fault: str
    messages: int
    delivered: int  # taken by a provider
    failed: int  # answered as not delivered
    lost: int  # neither: a send that raised
    through_backup: int
    extra_sms: int  # SMS beyond one per message, both providers together
    most_copies: int  # of one message
    resent: int
    seconds: float

    def line(self) -> str:
        return (
            f"{self.fault}: {self.delivered}/{self.messages} delivered "
            f"({self.through_backup} through the backup), {self.failed} failed, "
            f"{self.lost} lost, {self.extra_sms} extra SMS (at most {self.most_copies} of "
            f"one), {self.resent} resent, {self.seconds:.1f} s"
        )

    def save(self) -> None:
        kept = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
        kept[self.fault] = attrs.asdict(self)
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text(json.dumps(kept, indent=2))


def burst(
    name: str,
    smsc: Smsc,
    sms_providers: SmsProviders,
    capsys: pytest.CaptureFixture[str],
    *,
    fault: Callable[[], None] = lambda: None,
    resend_after: float | None = None,
    settle: float = 0.5,
    **settings: str,
) -> SmppFigures:
    registry = CollectorRegistry()
    receipts = DeliveryReceipts(registry)
    started = time.monotonic()

    async def run() -> list[object]:
        async with (
            smpp_provider(smsc.config(**settings), receipts) as smpp,
            httpx.AsyncClient(timeout=5) as client,
        ):
            chain: list[Provider] = [smpp, sms_providers.twilio_provider(client, receipts)]
            channel: NotificationChannel = FailoverChannel(chain, RETRY)
            if resend_after is not None:
                channel = ResendingChannel(
                    chain, RETRY, receipts, within_seconds=60, after_seconds=resend_after,
                    registry=registry,
                )  # fmt: skip
            fault()
            results = await asyncio.gather(
                *(channel.send(note(f"Your code is {n:06d}", f"r{n}")) for n in range(COUNT)),
                return_exceptions=True,
            )
            await asyncio.sleep(settle)  # receipts, and the resends they call for
            if isinstance(channel, ResendingChannel):
                await channel.close()
            return list(results)

    results = asyncio.run(run())
    texts = [s["shortMessage"].decode("ascii") for s in smsc.received()]
    texts += [form["Body"] for form in sms_providers.twilio]
    copies = Counter(texts)
    done = [r for r in results if not isinstance(r, BaseException)]
    resent = registry.get_sample_value(
        "otp_sms_resends_total", {"provider": "smpp", "reason": "no_receipt", "outcome": "sent"}
    )
    figures = SmppFigures(
        fault=name,
        messages=COUNT,
        delivered=sum(1 for r in done if getattr(r, "delivered", False)),
        failed=sum(1 for r in done if not getattr(r, "delivered", False)),
        lost=COUNT - len(done),
        through_backup=sum(1 for r in done if getattr(r, "provider", "") == "twilio"),
        extra_sms=len(texts) - len(copies),
        most_copies=max(copies.values(), default=0),
        resent=int(resent or 0),
        seconds=time.monotonic() - started,
    )
    with capsys.disabled():
        print("\n" + figures.line())
    figures.save()
    assert figures.lost == 0 and figures.delivered == COUNT, figures
    assert figures.most_copies <= 2, figures  # at most one extra SMS per message
    assert set(copies) == {f"Your code is {n:06d}" for n in range(COUNT)}
    return figures


def test_the_smsc_down_sends_every_code_through_the_backup_once(
    smsc: Smsc, sms_providers: SmsProviders, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = burst(
        "SMSC down", smsc, sms_providers, capsys, SMPP_PORT=str(free_port()),
        SMPP_SUBMIT_TIMEOUT_SECONDS="0.5",
    )  # fmt: skip
    assert figures.through_backup == COUNT and figures.extra_sms == 0


def test_throttling_delays_codes_and_sends_none_twice(
    smsc: Smsc, sms_providers: SmsProviders, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = burst(
        "50 submits throttled", smsc, sms_providers, capsys, fault=lambda: smsc.set(throttle=50)
    )
    assert figures.extra_sms == 0


@pytest.mark.parametrize("window", [1, 10])
def test_a_bind_dropped_in_a_burst_loses_nothing(
    smsc: Smsc, sms_providers: SmsProviders, capsys: pytest.CaptureFixture[str], window: int
) -> None:
    figures = burst(
        f"bind dropped after 60 submits, window {window}", smsc, sms_providers, capsys,
        fault=lambda: smsc.set(dropAfter=60), SMPP_WINDOW=str(window),
    )  # fmt: skip
    # A submit the SMSC took while the bind went down gets no response: sent again, it arrives
    # twice (burst() holds every message to one extra copy). How many that is depends on when
    # the connection really closes: 1-4 with a window of 1, 0-8 with 10 (docs/reliability.md).
    assert figures.extra_sms <= 10 * window, figures


def test_slow_receipts_within_the_resend_wait_send_nothing_twice(
    smsc: Smsc, sms_providers: SmsProviders, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = burst(
        "receipts 1 s late, resend after 3 s", smsc, sms_providers, capsys,
        fault=lambda: smsc.set(receiptDelayMs=1000), resend_after=3.0, settle=4.0,
    )  # fmt: skip
    assert (figures.extra_sms, figures.resent) == (0, 0)


def test_lost_receipts_resend_each_code_once_through_the_backup(
    smsc: Smsc, sms_providers: SmsProviders, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = burst(
        "receipts lost, resend after 1 s", smsc, sms_providers, capsys,
        fault=lambda: smsc.set(receipts="none"), resend_after=1.0, settle=3.0,
    )  # fmt: skip
    assert figures.resent == figures.extra_sms == COUNT and figures.most_copies == 2
