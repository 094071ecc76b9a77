"""The SMPP path beside its SMSC ceiling, measured against the test SMSC (jsmpp, scripts/services).

- the service's provider (``SmppSmsProvider``: the text encoded and split, the window, the
  receipts matched): submits a second and CPU milliseconds per submit, with CONCURRENCY
  messages in flight;
- the ceiling: a bare smpp34 client on the same bind settings and window, sending the same
  ``submit_sm`` in a loop (no encoding, no receipts kept).

Each runs in a process of its own for ``seconds``; the SMSC's CPU per submit is reported beside
(its process is scripts/services'). Loopback only. Run alone with ``python bench/smpp.py``
(servers up: ``scripts/services.py up``), or as part of ``make bench``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONCURRENCY = 32
TEXT = "Your code is 123456. It expires in 5 minutes."  # one GSM 7-bit part


def _settings(env: dict[str, str]) -> dict[str, str]:
    host, port = env["OTP_TEST_SMSC"].rsplit(":", 1)
    return {
        "SMPP_HOST": host,
        "SMPP_PORT": port,
        "SMPP_SYSTEM_ID": env["OTP_TEST_SMSC_SYSTEM_ID"],
        "SMPP_PASSWORD": env["OTP_TEST_SMSC_PASSWORD"],
    }


FAILED: list[str] = []  # submits the SMSC refused for the moment (each process its own)


async def _until(seconds: float, send: Any) -> int:
    """``send()`` from CONCURRENCY tasks until ``seconds`` pass; how many went (a submit the
    SMSC refused is noted in FAILED, not counted)."""
    deadline = time.monotonic() + seconds
    sent = 0

    async def loop() -> None:
        nonlocal sent
        while time.monotonic() < deadline:
            try:
                await send()
            except Exception as exc:  # noqa: BLE001 - counted, the burst goes on
                FAILED.append(str(exc)[:80])
                continue
            sent += 1

    await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
    return sent


def provider_burst(seconds: float, env: dict[str, str]) -> dict[str, Any]:
    import logging

    import structlog

    from adapters.channels.receipts import DeliveryReceipts
    from adapters.channels.smpp import SmppConfig, smpp_provider
    from domain.channel import Channel
    from domain.notification import Notification
    from domain.recipient import Recipient
    from domain.template import RenderedMessage

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    config = SmppConfig.read(_settings(env))
    receipts = DeliveryReceipts()
    note = Notification(
        reference="bench",
        recipient=Recipient(Channel.SMS, "+40722123456"),
        template_name="otp-sms",
        language="en",
        message=RenderedMessage(text=TEXT),
    )

    async def run() -> tuple[int, float]:
        async with smpp_provider(config, receipts) as provider:
            await provider.deliver(note)  # the bind, outside the measure
            started = time.process_time()
            sent = await _until(seconds, lambda: provider.deliver(note))
            return sent, time.process_time() - started

    sent, cpu = asyncio.run(run())
    return {"rate": sent / seconds, "count": sent, "cpu_ms_per_submit": cpu * 1000 / sent,
            "refused": len(FAILED), "refusals": sorted(set(FAILED))[:3]}  # fmt: skip


def bare_burst(seconds: float, env: dict[str, str]) -> dict[str, Any]:
    import smpp34

    settings = _settings(env)

    async def run() -> tuple[int, float]:
        client = smpp34.Client(
            settings["SMPP_HOST"],
            int(settings["SMPP_PORT"]),
            settings["SMPP_SYSTEM_ID"],
            settings["SMPP_PASSWORD"],
            bind_type="TRX",
            window_size=10,
        )
        session = await client.connect()

        async def drain() -> None:  # receipts and keep-alives, read and dropped
            while not isinstance(await session.next(), smpp34.Disconnected):
                pass

        reader = asyncio.create_task(drain())
        window = asyncio.Semaphore(10)
        data = TEXT.encode("ascii")

        async def send() -> None:
            async with window:
                await session.submit_sm(
                    destination_addr="40722123456", short_message=data, source_addr="OTP",
                    source_addr_ton=5, source_addr_npi=0, dest_addr_ton=1, dest_addr_npi=1,
                    esm_class=0, registered_delivery=1, data_coding=0, tlvs=[],
                )  # fmt: skip

        started = time.process_time()
        sent = await _until(seconds, send)
        cpu = time.process_time() - started
        reader.cancel()
        await client.stop()
        return sent, cpu

    sent, cpu = asyncio.run(run())
    return {"rate": sent / seconds, "count": sent, "cpu_ms_per_submit": cpu * 1000 / sent,
            "refused": len(FAILED), "refusals": sorted(set(FAILED))[:3]}  # fmt: skip


def _in_process(function: Any, *args: Any) -> dict[str, Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: dict[str, Any] = pool.apply(function, args)
        return result


def _smsc_cpu_seconds() -> float | None:
    printed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "services.py"), "pid", "smsc"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    if not printed.isdigit():
        return None
    fields = Path(f"/proc/{printed}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


def _measured(function: Any, seconds: float, env: dict[str, str]) -> dict[str, Any]:
    before = _smsc_cpu_seconds()
    result = _in_process(function, seconds, env)
    after = _smsc_cpu_seconds()
    if before is not None and after is not None:
        result["smsc_cpu_ms_per_submit"] = (after - before) * 1000 / result["count"]
    return result


def bench_smpp(seconds: float, env: dict[str, str], results: dict[str, Any]) -> None:
    """The SMPP path and its ceiling, into ``results`` (the SMSC must be up)."""
    results["smpp_provider"] = _measured(provider_burst, seconds, env)
    results["ceiling_smpp"] = _measured(bare_burst, seconds, env)
    # The SMSC keeps what it received for the tests: let it forget the bench's.
    httpx.post(env["OTP_TEST_SMSC_CONTROL"] + "/reset", timeout=5)


def report(results: dict[str, Any]) -> list[str]:
    if "smpp_provider" not in results:
        return []
    own, bare = results["smpp_provider"], results["ceiling_smpp"]
    smsc = own.get("smsc_cpu_ms_per_submit")
    beside = f"; the SMSC's own CPU {smsc:.2f} ms per submit" if smsc is not None else ""
    beside += f"; refused by the SMSC: {own['refused']} (bare {bare['refused']})"
    return [
        f"| SMPP submit, 1 part | {own['rate']:.0f} submits/s | {bare['rate']:.0f}/s (bare "
        f"smpp34 client, same window) | {own['rate'] / bare['rate']:.0%} | "
        f"{own['cpu_ms_per_submit']:.2f} ms (bare {bare['cpu_ms_per_submit']:.2f} ms){beside} |"
    ]


def main() -> None:
    import json

    from bench.run import services_env

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 6.0
    subprocess.run([sys.executable, str(ROOT / "scripts" / "services.py"), "up"], check=True)
    results: dict[str, Any] = {}
    bench_smpp(seconds, services_env(), results)
    print(json.dumps(results, indent=2))
    print("\n".join(report(results)))


if __name__ == "__main__":
    main()
